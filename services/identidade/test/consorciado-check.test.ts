// CreateUsuario asks consorciados, with identidade's own service account, whether a CONSORCIADO
// account's consorciado exists.
import { randomBytes, randomUUID } from "node:crypto";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { UsuarioKind } from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { UsuarioService } from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import {
  cpfArbitrary,
  emailArbitrary,
  enderecoArbitrary,
  freePort,
  nomeArbitrary,
  sample,
  startTestService,
  type TestService,
} from "@consorcio/testkit";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service as consorciadosService } from "../../consorciados/src/service.ts";
import { piiKeys } from "../../consorciados/test/support.ts";
import { service } from "../src/service.ts";

const ADMIN_PASSWORD = `Adm-${randomBytes(12).toString("base64url")}`;
const SECRET = randomBytes(24).toString("base64url");
let identidade: TestService;
let consorciados: TestService;
let consorciadosStopped = false;
let adminToken: string;
let usuarios: ReturnType<typeof createClient<typeof UsuarioService>>;
let auth: ReturnType<typeof createClient<typeof AuthService>>;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  // identidade calls consorciados, which verifies tokens with identidade's JWKS: both addresses
  // are chosen before either starts.
  const [identidadePort, consorciadosPort] = [await freePort(), await freePort()];
  const identidadeUrl = `http://127.0.0.1:${identidadePort}`;
  identidade = await startTestService(service, {
    PORT: String(identidadePort),
    IDENTIDADE_URL: identidadeUrl,
    CONSORCIADOS_URL: `http://127.0.0.1:${consorciadosPort}`,
    IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
    CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
    SERVICE_ACCOUNTS: JSON.stringify({ identidade: SECRET }),
    SERVICE_CLIENT_SECRET: SECRET,
  });
  consorciados = await startTestService(consorciadosService, {
    ...piiKeys,
    PORT: String(consorciadosPort),
    JWKS_URL: `${identidadeUrl}/.well-known/jwks.json`,
    ERASURE_INTERVAL_SECONDS: "0",
  });
  const transport = createConnectTransport({ baseUrl: identidadeUrl, httpVersion: "2" });
  auth = createClient(AuthService, transport);
  usuarios = createClient(UsuarioService, transport);
  adminToken = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
});
afterAll(async () => {
  if (!consorciadosStopped) await consorciados?.stop();
  await identidade?.stop();
});

const consorciadoAccount = (consorciadoId: string) => ({
  username: `cons-${randomUUID().slice(0, 8)}`,
  kind: UsuarioKind.CONSORCIADO,
  roles: [Role.CONSORCIADO],
  password: `Senha forte ${randomUUID()}`,
  consorciadoId,
});

async function refusal(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  return {
    code: error ? Code[error.code] : "OK",
    fields: (error?.findDetails(ViolationsSchema) ?? []).flatMap((d) =>
      d.violations.map((v) => v.field?.elements.map((element) => element.fieldName).join(".")),
    ),
  };
}

describe("CreateUsuario checks the consorciado", () => {
  test("a CONSORCIADO account for a consorciado that does not exist is refused, naming consorciado_id", async () => {
    const account = consorciadoAccount(randomUUID());
    expect(await refusal(usuarios.createUsuario(account, bearer(adminToken)))).toEqual({
      code: "InvalidArgument",
      fields: ["consorciado_id"],
    });
    await expect(
      auth.login({ username: account.username, password: account.password }),
    ).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
  });

  test("a CONSORCIADO account for a real consorciado is created and logs in as its owner", async () => {
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
              cpf: sample(cpfArbitrary()),
              nome: sample(nomeArbitrary()),
              dataNascimento: { year: 1990, month: 1, day: 2 },
            },
          },
          endereco: sample(enderecoArbitrary()),
          email: sample(emailArbitrary()),
        },
      },
      bearer(adminToken),
    );
    const id = consorciado?.id ?? "";
    const account = consorciadoAccount(id);
    const { usuario } = await usuarios.createUsuario(account, bearer(adminToken));
    expect(usuario?.consorciadoId).toBe(id);
    const login = await auth.login({ username: account.username, password: account.password });
    expect(decodeJwt(login.accessToken).cid).toBe(id);
  });

  test("with consorciados down the account is not created: Unavailable", async () => {
    await consorciados.stop();
    consorciadosStopped = true;
    const account = consorciadoAccount(randomUUID());
    expect((await refusal(usuarios.createUsuario(account, bearer(adminToken)))).code).toBe("Unavailable");
    // Staff accounts do not depend on consorciados.
    const staff = {
      username: `op-${randomUUID().slice(0, 8)}`,
      kind: UsuarioKind.STAFF,
      roles: [Role.OPERADOR],
    };
    await expect(
      usuarios.createUsuario({ ...staff, password: `Senha forte ${randomUUID()}` }, bearer(adminToken)),
    ).resolves.toBeDefined();
  });
});
