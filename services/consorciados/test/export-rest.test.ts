// The portability export over REST (through the local gateway, as through Envoy's transcoder):
// the response_body is a google.api.HttpBody, so the answer is the document itself, a download.
import { fileURLToPath } from "node:url";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { createLogger } from "@consorcio/platform/logging.ts";
import {
  loadDescriptorSet,
  type RunningRestGateway,
  startRestGateway,
} from "@consorcio/platform/rest-gateway.ts";
import { cpf } from "cpf-cnpj-validator";
import { afterAll, beforeAll, expect, test } from "vitest";
import { service } from "../src/service.ts";
import { startConsorciados } from "./support.ts";

const descriptors = fileURLToPath(new URL("../../../envoy/descriptor.binpb", import.meta.url));
let h: Awaited<ReturnType<typeof startConsorciados>>;
let gateway: RunningRestGateway;

beforeAll(async () => {
  h = await startConsorciados();
  gateway = await startRestGateway({
    host: "127.0.0.1",
    port: 0,
    registry: loadDescriptorSet(descriptors),
    logger: createLogger({ service: "rest-gateway", level: "silent" }),
    upstreams: [{ baseUrl: h.service.url, services: service.services.map((desc) => desc.typeName) }],
  });
});
afterAll(async () => {
  await gateway?.close();
  await h?.stop();
});

test("POST /v1/consorciados/{id}:export answers the JSON document as an attachment", async () => {
  const admin = await h.issuer.token({ roles: [Role.ADMIN] });
  const documento = cpf.generate();
  const { consorciado } = await h.client.createConsorciado(
    {
      consorciado: {
        tipo: TipoPessoa.FISICA,
        pessoa: { case: "pf", value: { cpf: documento, nome: "Joana Exportada" } },
        email: "joana@example.com",
      },
    },
    { headers: { authorization: `Bearer ${admin}` } },
  );
  const id = consorciado?.id ?? "";
  const download = (token: string) =>
    fetch(`${gateway.url}/v1/consorciados/${id}:export`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    });

  const response = await download(admin);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("application/json");
  expect(response.headers.get("content-disposition")).toBe(
    `attachment; filename="dados-pessoais-${id}.json"`,
  );
  // The body is the document, not a message wrapping it (no base64 `data`, no `contentType`).
  const document = (await response.json()) as Record<string, unknown>;
  expect(document).toMatchObject({
    formato: "consorcio.exportacao-dados-pessoais/v1",
    consorciado: { id, dadosPessoais: { pf: { cpf: documento, nome: "Joana Exportada" } } },
  });
  expect(document).not.toHaveProperty("data");

  // Another consorciado's token is refused as over gRPC, as JSON Status, with no attachment.
  const other = await h.issuer.token({
    roles: [Role.CONSORCIADO],
    consorciadoId: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  });
  const refused = await download(other);
  expect(refused.status).toBe(403);
  expect(refused.headers.get("content-disposition")).toBeNull();
  expect(((await refused.json()) as { code: number }).code).toBe(7);
});
