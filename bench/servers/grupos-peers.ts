// What grupos' adesão calls, for the grupos bench: identidade (issues grupos' service token) and
// consorciados (answers whether each consorciado exists and is ATIVO), both trusting identidade's
// keys and a test issuer's, with the consorciados the load generator will enrol.
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { cpf } from "cpf-cnpj-validator";
import type { JSONWebKeySet } from "jose";
import { service as consorciadosService } from "../../services/consorciados/src/service.ts";
import { service as identidadeService } from "../../services/identidade/src/service.ts";
import { createTestIssuer, serveJwks, startTestService } from "../../services/platform/src/testing.ts";
import { serveChild } from "../lib/child.ts";

export interface GruposPeersInfo {
  identidadeUrl: string;
  consorciadosUrl: string;
  jwksUrl: string;
  /** grupos' service account secret at identidade. */
  secret: string;
  /** ROLE_ADMIN, of the test issuer, valid for 2 h. */
  token: string;
  consorciadoIds: string[];
}

const CONSORCIADOS = Number(process.env.BENCH_GRUPOS_CONSORCIADOS ?? "200");
const secret = randomBytes(24).toString("base64url");
const issuer = await createTestIssuer();
const identidade = await startTestService(identidadeService, {
  IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
  CONSORCIO_ADMIN_PASSWORD: `Adm-${randomBytes(12).toString("base64url")}`,
  SERVICE_ACCOUNTS: JSON.stringify({ grupos: secret }),
  ACCESS_TOKEN_TTL_SECONDS: "3600",
});
const own = (await (await fetch(`${identidade.service.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
const jwks = await serveJwks({ keys: [...own.keys, ...issuer.jwks.keys] });
const consorciados = await startTestService(consorciadosService, {
  PII_MASTER_KEY: randomBytes(32).toString("base64"),
  PII_INDEX_KEY: randomBytes(32).toString("base64"),
  JWKS_URL: jwks.url,
  CONSORCIADOS_QUEUE: `consorciados.bench.${process.pid}`,
});
const stop = async () => {
  await consorciados.stop();
  await identidade.stop();
  await jwks.close();
};
try {
  const token = await issuer.token({ roles: [Role.ADMIN], expiresIn: "2h" });
  const client = createClient(
    ConsorciadoService,
    createConnectTransport({ baseUrl: consorciados.service.url, httpVersion: "2" }),
  );
  const consorciadoIds: string[] = [];
  for (let i = 0; i < CONSORCIADOS; i++) {
    const { consorciado } = await client.createConsorciado(
      {
        consorciado: {
          tipo: TipoPessoa.FISICA,
          pessoa: { case: "pf", value: { cpf: cpf.generate(), nome: `Consorciado ${i}` } },
          email: `c${i}@example.com`,
        },
      },
      { headers: { authorization: `Bearer ${token}` } },
    );
    consorciadoIds.push(consorciado?.id ?? "");
  }
  const info: GruposPeersInfo = {
    identidadeUrl: identidade.service.url,
    consorciadosUrl: consorciados.service.url,
    jwksUrl: jwks.url,
    secret,
    token,
    consorciadoIds,
  };
  serveChild(info, async () => {
    await stop();
    const { deleteQueues } = await import("../../services/platform/src/testing.ts");
    await deleteQueues([`consorciados.bench.${process.pid}`]);
  });
} catch (error) {
  await stop();
  throw error;
}
