// grupos against real servers: identidade issues grupos' service token, consorciados answers
// whether a consorciado exists and is ATIVO, grupos serves on a clock the test moves. Both
// consorciados and grupos trust identidade's keys and a test issuer's (tokens for every role).
import { randomBytes, randomUUID } from "node:crypto";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { CotaService, GrupoService } from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import { createTestClock, type TestClock } from "@consorcio/platform/clock.ts";
import {
  createTestIssuer,
  deleteQueues,
  serveJwks,
  startTestService,
  type TestService,
} from "@consorcio/platform/testing.ts";
import { cpfArbitrary } from "@consorcio/testkit";
import fc from "fast-check";
import type { JSONWebKeySet } from "jose";
import { uuidv7 } from "uuidv7";
import { service as consorciadosService } from "../../consorciados/src/service.ts";
import { service as identidadeService } from "../../identidade/src/service.ts";
import { service } from "../src/service.ts";

export const piiKeys = {
  PII_MASTER_KEY: randomBytes(32).toString("base64"),
  PII_INDEX_KEY: randomBytes(32).toString("base64"),
};

export async function startStack(
  options: { clock?: TestClock; consorciadosEnv?: Record<string, string> } = {},
) {
  const secret = randomBytes(24).toString("base64url");
  const issuer = await createTestIssuer();
  const identidade = await startTestService(identidadeService, {
    IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
    CONSORCIO_ADMIN_PASSWORD: `Adm-${randomBytes(12).toString("base64url")}`,
    SERVICE_ACCOUNTS: JSON.stringify({ grupos: secret }),
  });
  const own = (await (
    await fetch(`${identidade.service.url}/.well-known/jwks.json`)
  ).json()) as JSONWebKeySet;
  const jwks = await serveJwks({ keys: [...own.keys, ...issuer.jwks.keys] });
  const queue = `grupos.test.${randomUUID().slice(0, 8)}`;
  const consorciados = await startTestService(consorciadosService, {
    ...piiKeys,
    JWKS_URL: jwks.url,
    CONSORCIADOS_QUEUE: `${queue}.consorciados`,
    ...options.consorciadosEnv,
  });
  const clock = options.clock ?? createTestClock(new Date("2027-01-05T12:00:00Z"));
  const grupos = await startTestService(
    service,
    {
      JWKS_URL: jwks.url,
      IDENTIDADE_URL: identidade.service.url,
      CONSORCIADOS_URL: consorciados.service.url,
      SERVICE_CLIENT_SECRET: secret,
      GRUPOS_QUEUE: queue,
    },
    { clock },
  );
  const transport = (url: string) => createConnectTransport({ baseUrl: url, httpVersion: "2" });
  const admin = await issuer.token({ roles: [Role.ADMIN] });
  const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const consorciadosClient = createClient(ConsorciadoService, transport(consorciados.service.url));
  return {
    issuer,
    clock,
    queue,
    identidade,
    consorciados,
    grupos,
    grupoClient: createClient(GrupoService, transport(grupos.service.url)),
    cotaClient: createClient(CotaService, transport(grupos.service.url)),
    consorciadosClient,
    admin,
    auth,
    /** A new consorciado in consorciados (ATIVO), by id. */
    async novoConsorciado(): Promise<string> {
      const { consorciado } = await consorciadosClient.createConsorciado(
        {
          consorciado: {
            tipo: TipoPessoa.FISICA,
            pessoa: { case: "pf", value: { cpf: fc.sample(cpfArbitrary(), 1)[0] ?? "", nome: "Ana Souza" } },
            email: "ana@example.com",
          },
        },
        auth(admin),
      );
      return consorciado?.id ?? "";
    },
    /** Events grupos wrote to its outbox, of one type, oldest first. */
    async outbox<Desc extends DescMessage>(schema: Desc): Promise<MessageShape<Desc>[]> {
      const rows = await grupos.db.query<{ payload: Buffer }>(
        "select payload from platform_outbox where event_type = $1 order by created_at, id",
        [schema.typeName],
      );
      return rows.map((row) => fromBinary(schema, new Uint8Array(row.payload)));
    },
    /** Publishes an event of another service on the real broker, as its outbox would. */
    async publish<Desc extends DescMessage>(
      schema: Desc,
      event: MessageInitShape<Desc>,
      id = uuidv7(),
    ): Promise<string> {
      await grupos.service.context.bus.publish([
        {
          id,
          type: schema.typeName,
          routingKey: schema.typeName,
          body: toBinary(schema, create(schema, event)),
          headers: { actor: "test" },
          timestamp: new Date(),
        },
      ]);
      return id;
    },
    async stop() {
      await grupos.stop();
      await consorciados.stop();
      await identidade.stop();
      await jwks.close();
      await deleteQueues([queue]);
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
export type { TestService };
