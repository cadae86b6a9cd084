// The CLI's sorteios commands against real identidade and sorteios (grupos and financeiro stood in
// by sorteios' test peers): two operators enter and confirm the Loteria Federal extraction, then
// the apuração runs and is shown.
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { UsuarioKind } from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { UsuarioService } from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import { createTestIssuer } from "@consorcio/platform/testing.ts";
import type { JSONWebKeySet } from "jose";
import { afterAll, beforeAll, expect, test } from "vitest";
import { AGENDAMENTO_JOB } from "../../sorteios/src/service.ts";
import { addGrupo, PRECO, startPeers, startSorteios } from "../../sorteios/test/support.ts";
import { cliRunner, startIdentidade } from "./support.ts";

let stack: Awaited<ReturnType<typeof startIdentidade>>;
let peers: Awaited<ReturnType<typeof startPeers>>;
let sorteios: Awaited<ReturnType<typeof startSorteios>>;
const runners: Awaited<ReturnType<typeof cliRunner>>[] = [];
const operadores = ["operador-a", "operador-b"].map((username) => ({
  username,
  password: `Op-${randomBytes(12).toString("base64url")}`,
}));

beforeAll(async () => {
  stack = await startIdentidade();
  const issuer = await createTestIssuer();
  peers = await startPeers(issuer);
  // sorteios trusts identidade's keys (the CLI's users) and the peers' issuer (their service token).
  const own = (await (await fetch(stack.jwksUrl)).json()) as JSONWebKeySet;
  sorteios = await startSorteios(peers.url, {
    ...issuer,
    jwks: { keys: [...own.keys, ...issuer.jwks.keys] },
  });
  const identidade = createConnectTransport({ baseUrl: stack.identidade.service.url, httpVersion: "2" });
  const { accessToken } = await createClient(AuthService, identidade).login({
    username: "admin",
    password: stack.adminPassword,
  });
  for (const { username, password } of operadores)
    await createClient(UsuarioService, identidade).createUsuario(
      { username, password, kind: UsuarioKind.STAFF, roles: [Role.OPERADOR] },
      { headers: { authorization: `Bearer ${accessToken}` } },
    );
  for (const user of [...operadores, { username: "admin", password: stack.adminPassword }]) {
    const runner = await cliRunner({
      IDENTIDADE_URL: stack.identidade.service.url,
      SORTEIOS_URL: sorteios.service.url,
    });
    const login = await runner.cli(["login", "-u", user.username, "--password-stdin"], {
      input: user.password,
    });
    expect(login.stderr).toBe("");
    runners.push(runner);
  }
}, 120_000);

afterAll(async () => {
  await sorteios?.stop();
  await peers?.close();
  await stack?.identidade.stop();
  for (const runner of runners) await runner.cleanup();
});

test("extracao register by one operador, confirm by another (not the same), apuracao run and show", {
  timeout: 120_000,
}, async () => {
  const [a, b, admin] = runners as [(typeof runners)[0], (typeof runners)[0], (typeof runners)[0]];
  const setup = addGrupo(peers.state, {
    n: 20,
    fundoComumCentavos: PRECO + 100_000n,
    assembleia: "2026-12-10",
  });
  expect((await sorteios.service.runJob(AGENDAMENTO_JOB)).outcome).toBe("succeeded");
  const listed = await admin.cli(["--json", "assembleias", "list", "--grupo", setup.grupo.id]);
  expect(listed.code).toBe(0);
  const [assembleia] = (JSON.parse(listed.stdout) as { assembleias: { id: string; status: string }[] })
    .assembleias;
  const id = assembleia?.id ?? "";
  expect(assembleia?.status).toBe("ASSEMBLEIA_STATUS_AGENDADA");

  const aberta = await admin.cli(["assembleias", "abrir-lances", id]);
  expect(aberta.stderr).toBe("");
  expect(aberta.stdout).toContain("ABERTA_PARA_LANCES");

  const extracao = ["--assembleia", id, "--numero", "5923", "--data", "2026-12-05"];
  const premios = ["--premios", "48602,01927,82187,34246,68744"];
  const badPremios = await a.cli(["extracao", "register", ...extracao, "--premios", "48602,1927"]);
  expect(badPremios.code).toBe(2);

  const registered = await a.cli(["extracao", "register", ...extracao, ...premios]);
  expect(registered.stderr).toBe("");
  expect(registered.code).toBe(0);
  expect(registered.stdout).toContain("48602, 01927, 82187, 34246, 68744");

  const same = await a.cli(["extracao", "confirm", ...extracao, ...premios]);
  expect(same.code).toBe(1);
  expect(same.stderr).toMatch(/^error: failed_precondition: .*outro usuário/);
  const different = await b.cli([
    "extracao",
    "confirm",
    ...extracao,
    "--premios",
    "48602,01927,82187,34246,68745",
  ]);
  expect(different.code).toBe(1);
  expect(different.stderr).toMatch(/^error: failed_precondition: .*difere/);

  const confirmed = await b.cli(["--json", "extracao", "confirm", ...extracao, ...premios]);
  expect(confirmed.stderr).toBe("");
  const confirmedBy = (
    JSON.parse(confirmed.stdout) as { assembleia: { extracao: { confirmadaPor: string } } }
  ).assembleia.extracao.confirmadaPor;
  expect(confirmedBy).not.toBe("");

  const run = await admin.cli(["--json", "apuracao", "run", "--assembleia", id]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const { apuracao } = JSON.parse(run.stdout) as {
    apuracao: { resultadoSha256: string; contemplacoes: { cotaNumero: number; modalidade: string }[] };
  };
  expect(apuracao.contemplacoes).toHaveLength(1);
  expect(apuracao.contemplacoes[0]?.modalidade).toBe("MODALIDADE_SORTEIO");

  const show = await admin.cli(["apuracao", "show", "--assembleia", id]);
  expect(show.code).toBe(0);
  expect(show.stdout).toContain(apuracao.resultadoSha256);
  expect(show.stdout).toMatch(new RegExp(`│ 1\\s+│ ${apuracao.contemplacoes[0]?.cotaNumero}\\s+│ SORTEIO`));
});
