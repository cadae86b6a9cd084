// The platform's service clients against real services: identidade issues the service token,
// consorciados (trusting identidade's JWKS) answers.
import { randomBytes, randomUUID } from "node:crypto";
import net from "node:net";
import { Code, createClient, createContextValues, createHandlerContext } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { createLogger, createServiceClients, requestContextKey } from "@consorcio/platform";
import { deleteQueues, startTestService, type TestService } from "@consorcio/platform/testing.ts";
import { cpf } from "cpf-cnpj-validator";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service as identidadeService } from "../../identidade/src/service.ts";
import { service as consorciadosService } from "../src/service.ts";
import { piiKeys } from "./support.ts";

const logger = createLogger({ service: "t", level: "silent" });
const secret = randomBytes(24).toString("base64url");
const adminPassword = `Adm-${randomBytes(12).toString("base64url")}`;
const queue = `consorciados.test.${randomUUID().slice(0, 8)}`;

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("service-to-service clients", () => {
  let identidade: TestService;
  let consorciados: TestService;
  let env: Record<string, string>;

  beforeAll(async () => {
    identidade = await startTestService(identidadeService, {
      IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
      CONSORCIO_ADMIN_PASSWORD: adminPassword,
      SERVICE_ACCOUNTS: JSON.stringify({ grupos: secret }),
      ACCESS_TOKEN_TTL_SECONDS: "2",
    });
    consorciados = await startTestService(consorciadosService, {
      ...piiKeys,
      JWKS_URL: `${identidade.service.url}/.well-known/jwks.json`,
      ERASURE_INTERVAL_SECONDS: "0",
      CONSORCIADOS_QUEUE: queue,
    });
    env = { IDENTIDADE_URL: identidade.service.url, CONSORCIADOS_URL: consorciados.service.url };
  });
  afterAll(async () => {
    await consorciados?.stop();
    await identidade?.stop();
    await deleteQueues([queue]);
  });

  const clientsWith = (overrides: Record<string, string> = {}, clientSecret = secret) =>
    createServiceClients({
      caller: "grupos",
      calls: [ConsorciadoService],
      env: { ...env, ...overrides },
      credentials: { clientId: "svc-grupos", clientSecret },
      defaultTimeoutMs: 3_000,
      logger,
    });

  test("a call carries a real identidade service token; errors keep their meaning", async () => {
    const login = await createClient(
      AuthService,
      createConnectTransport({ baseUrl: identidade.service.url, httpVersion: "2" }),
    ).login({ username: "admin", password: adminPassword });
    const { consorciado } = await createClient(
      ConsorciadoService,
      createConnectTransport({ baseUrl: consorciados.service.url, httpVersion: "2" }),
    ).createConsorciado(
      {
        consorciado: {
          tipo: TipoPessoa.FISICA,
          pessoa: {
            case: "pf",
            value: {
              cpf: cpf.generate(),
              nome: "Ana Souza",
              dataNascimento: { year: 1990, month: 1, day: 2 },
            },
          },
          endereco: {
            cep: "01310-100",
            logradouro: "Av. Paulista",
            numero: "1",
            municipio: "São Paulo",
            uf: "SP",
          },
          email: "ana@example.com",
        },
      },
      { headers: { authorization: `Bearer ${login.accessToken}` } },
    );
    const clients = clientsWith();
    const found = await clients.get(ConsorciadoService).getConsorciado({ id: consorciado?.id ?? "" });
    expect(found.consorciado?.id).toBe(consorciado?.id);
    await expect(clients.get(ConsorciadoService).getConsorciado({ id: randomUUID() })).rejects.toMatchObject({
      code: Code.NotFound,
    });
    // A method the policy does not grant SERVICE stays PermissionDenied.
    await expect(clients.get(ConsorciadoService).listConsorciados({})).rejects.toMatchObject({
      code: Code.PermissionDenied,
    });
  });

  test("a token is renewed before it expires, without a failed call", async () => {
    const clients = clientsWith();
    const first = await clients.token();
    await clients
      .get(ConsorciadoService)
      .getConsorciado({ id: randomUUID() })
      .catch(() => undefined);
    // Tokens here live 2 s: past half their life the next call brings a new one.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await expect(clients.get(ConsorciadoService).getConsorciado({ id: randomUUID() })).rejects.toMatchObject({
      code: Code.NotFound,
    });
    expect(await clients.token()).not.toBe(first);
  });

  test("the incoming call's deadline and ids go on; an expired deadline is DeadlineExceeded", async () => {
    const clients = clientsWith();
    await clients.token();
    const values = createContextValues().set(requestContextKey, {
      requestId: `req-${randomUUID()}`,
      correlationId: `corr-${randomUUID()}`,
    });
    const incoming = createHandlerContext({
      service: ConsorciadoService,
      method: ConsorciadoService.method.getConsorciado,
      protocolName: "connect",
      requestMethod: "POST",
      url: "http://test/",
      timeoutMs: 1,
      contextValues: values,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(
      clients.get(ConsorciadoService, incoming).getConsorciado({ id: randomUUID() }),
    ).rejects.toMatchObject({ code: Code.DeadlineExceeded });
  });

  test("identidade or the peer being down is Unavailable, naming who", async () => {
    const noIdentidade = clientsWith({ IDENTIDADE_URL: `http://127.0.0.1:${await closedPort()}` });
    await expect(
      noIdentidade.get(ConsorciadoService).getConsorciado({ id: randomUUID() }),
    ).rejects.toMatchObject({
      code: Code.Unavailable,
      rawMessage: expect.stringMatching(/^identidade unavailable/),
    });
    const noPeer = clientsWith({ CONSORCIADOS_URL: `http://127.0.0.1:${await closedPort()}` });
    await expect(noPeer.get(ConsorciadoService).getConsorciado({ id: randomUUID() })).rejects.toMatchObject({
      code: Code.Unavailable,
      rawMessage: expect.stringMatching(/^consorciados unavailable/),
    });
  });

  test("a refused connection is retried for a read, never for a write without request_id", async () => {
    // A proxy to consorciados that refuses connections for its first 150 ms.
    const port = await closedPort();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(consorciados.service.port, "127.0.0.1");
      client.pipe(upstream).pipe(client);
      for (const socket of [client, upstream]) socket.on("error", () => socket.destroy());
    });
    const clients = clientsWith({ CONSORCIADOS_URL: `http://127.0.0.1:${port}` });
    await clients.token();
    const opening = new Promise<void>((resolve) =>
      setTimeout(() => proxy.listen(port, "127.0.0.1", resolve), 150),
    );
    try {
      await expect(
        clients.get(ConsorciadoService).disableConsorciado({ id: randomUUID() }),
      ).rejects.toMatchObject({ code: Code.Unavailable });
      await expect(
        clients.get(ConsorciadoService).getConsorciado({ id: randomUUID() }),
      ).rejects.toMatchObject({
        code: Code.NotFound,
      });
    } finally {
      await opening;
      proxy.close();
    }
  });

  test("a wrong secret is Unauthenticated; an undeclared service is refused at once", async () => {
    const wrong = clientsWith({}, randomBytes(24).toString("base64url"));
    await expect(wrong.get(ConsorciadoService).getConsorciado({ id: randomUUID() })).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    expect(() => clientsWith().get(AuthService)).toThrow(/does not declare/);
  });
});
