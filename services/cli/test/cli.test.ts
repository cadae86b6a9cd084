// The CLI end to end: the real command, as a child process, against real services.
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { cnpjArbitrary, cpfArbitrary, sample } from "@consorcio/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Platform, startPlatform } from "./support.ts";

let p: Platform;

beforeAll(async () => {
  p = await startPlatform();
}, 120_000);

afterAll(async () => {
  await p?.stop();
});

const credentials = () => join(p.configDir, "credentials.json");
const codigo = `CLI-${Date.now() % 1_000_000}`;
let grupoId = "";
const consorciadoIds: string[] = [];

// Each test runs several CLI processes: generous on a loaded machine (nothing here is timed).
describe("consorcio CLI", { timeout: 120_000 }, () => {
  test("login with --password-stdin keeps the tokens in a file only its owner reads; whoami", async () => {
    const wrong = await p.cli(["login", "-u", "admin", "--password-stdin"], { input: "not-the-password\n" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim().split("\n")).toHaveLength(1);
    expect(wrong.stderr).toMatch(/^error: unauthenticated: /);

    const login = await p.cli(["login", "-u", "admin", "--password-stdin"], {
      input: `${p.adminPassword}\n`,
    });
    expect(login.stderr).toBe("");
    expect(login.code).toBe(0);
    expect(login.stdout).toContain("logged in as admin");
    expect(statSync(credentials()).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(credentials(), "utf8"));
    expect(stored.accessToken).toMatch(/^ey/);
    expect(stored.refreshToken).not.toBe("");

    const whoami = await p.cli(["--json", "whoami"]);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ username: "admin", roles: ["ADMIN"] });
  });

  test("an expired access token is renewed with the refresh token, and the new pair saved", async () => {
    const before = JSON.parse(readFileSync(credentials(), "utf8"));
    writeFileSync(credentials(), JSON.stringify({ ...before, accessExpiresAt: 0 }), { mode: 0o600 });
    const list = await p.cli(["grupos", "list"]);
    expect(list.stderr).toBe("");
    expect(list.code).toBe(0);
    const after = JSON.parse(readFileSync(credentials(), "utf8"));
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.accessExpiresAt).toBeGreaterThan(Date.now());
    expect(statSync(credentials()).mode & 0o777).toBe(0o600);
  });

  test("a renewal waits for another process's, then uses its new pair instead of reusing the old token", async () => {
    const before = JSON.parse(readFileSync(credentials(), "utf8"));
    // Another consorcio holds the lock and renews the session meanwhile.
    const lock = `${credentials()}.lock`;
    writeFileSync(lock, "", { mode: 0o600 });
    writeFileSync(credentials(), JSON.stringify({ ...before, accessExpiresAt: 0 }), { mode: 0o600 });
    const waiting = p.cli(["--json", "whoami"]);
    const renewed = await createClient(
      AuthService,
      createConnectTransport({ baseUrl: p.identidade.service.url, httpVersion: "2" }),
    ).refresh({ refreshToken: before.refreshToken });
    await setTimeout(1500); // the child has read the expired file and waits for the lock
    const theirs = {
      ...before,
      accessToken: renewed.accessToken,
      refreshToken: renewed.refreshToken,
      accessExpiresAt: Date.now() + renewed.expiresIn * 1000,
    };
    writeFileSync(credentials(), JSON.stringify(theirs), { mode: 0o600 });
    rmSync(lock);
    // Had it refreshed with the old token, identidade would have seen a reuse and revoked the session.
    const run = await waiting;
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(JSON.parse(readFileSync(credentials(), "utf8")).refreshToken).toBe(theirs.refreshToken);
    writeFileSync(credentials(), JSON.stringify({ ...theirs, accessExpiresAt: 0 }), { mode: 0o600 });
    const next = await p.cli(["whoami"]);
    expect([next.code, next.stderr]).toEqual([0, ""]);
  });

  test("a grupo created from a YAML file and flags, then listed, shown and its cronograma", async () => {
    const file = join(p.configDir, "grupo.yaml");
    writeFileSync(
      file,
      [
        "nome: Imóveis da CLI",
        "segmento: SEGMENTO_IMOVEL",
        "bem: { descricao: Apartamento de referência, precoCentavos: '30000000' }",
        "percentualTaxaAdministracao: '15'",
        "percentualFundoReserva: '2'",
        "indice: INDICE_INCC",
        "diaVencimento: 9",
        "primeiraAssembleia: { year: 2027, month: 3, day: 18 }",
        "regrasLance: { tiposPermitidos: [TIPO_LANCE_LIVRE, TIPO_LANCE_EMBUTIDO] }",
        "",
      ].join("\n"),
    );
    const created = await p.cli([
      "--json",
      "grupos",
      "create",
      "--file",
      file,
      "--codigo",
      codigo,
      "--prazo",
      "12",
      "--cotas",
      "20",
      "--preco",
      "250000.00",
    ]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const { grupo } = JSON.parse(created.stdout);
    expect(grupo).toMatchObject({
      codigo,
      nome: "Imóveis da CLI",
      prazoMeses: 12,
      quantidadeCotas: 20,
      status: "GRUPO_STATUS_EM_FORMACAO",
      bem: { precoCentavos: "25000000" },
    });
    grupoId = grupo.id;

    const list = await p.cli(["grupos", "list", "--status", "em_formacao"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(codigo);
    expect(list.stdout).toContain(grupoId);
    expect(list.stdout).toContain("0/20");

    const show = await p.cli(["grupos", "show", grupoId]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("R$ 250.000,00");

    const cronograma = await p.cli(["--json", "grupos", "cronograma", grupoId]);
    expect(cronograma.code).toBe(0);
    const { datas } = JSON.parse(cronograma.stdout);
    expect(datas).toHaveLength(12);
  });

  test("consorciados added from a CSV (PF, PJ, alphanumeric CNPJ) and from flags; the same file again adds nobody twice", async () => {
    const file = join(p.configDir, "consorciados.csv");
    const [cpf1, cpf2, cpf3] = [sample(cpfArbitrary()), sample(cpfArbitrary()), sample(cpfArbitrary())];
    writeFileSync(
      file,
      [
        "tipo,cpf,nome,email,cnpj,razao_social,representante_nome,representante_cpf",
        `PF,${cpf1},Maria da Silva,maria@example.com,,,,`,
        `PJ,,,contato@padaria.example.com,${sample(cnpjArbitrary())},Padaria Pão Quente Ltda,João Souza,${cpf2}`,
        `PJ,,,,${sample(cnpjArbitrary({ alphanumeric: true }))},Tecnologia Alfa S.A.,Ana Lima,${cpf3}`,
        "",
      ].join("\n"),
    );
    const added = await p.cli(["--json", "consorciados", "add", "--csv", file]);
    expect(added.code).toBe(0);
    const outcomes = JSON.parse(added.stdout) as { linha: number; id: string; error: string }[];
    expect(outcomes.map((o) => o.linha)).toEqual([2, 3, 4]);
    expect(outcomes.every((o) => o.id !== "" && o.error === "")).toBe(true);
    consorciadoIds.push(...outcomes.map((o) => o.id));

    const single = await p.cli([
      "--json",
      "consorciados",
      "add",
      "--pf",
      "--cpf",
      sample(cpfArbitrary()),
      "--nome",
      "Rita Alves",
      "--nascimento",
      "1980-05-17",
      "--email",
      "rita@example.com",
    ]);
    expect(single.stderr).toBe("");
    expect(JSON.parse(single.stdout).consorciado).toMatchObject({
      tipo: "TIPO_PESSOA_FISICA",
      pf: { nome: "Rita Alves", dataNascimento: { year: 1980, month: 5, day: 17 } },
      status: "CONSORCIADO_STATUS_ATIVO",
    });

    const again = await p.cli(["--json", "consorciados", "add", "--csv", file]);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { id: string }[]).map((o) => o.id)).toEqual(consorciadoIds);
  });

  test("a CSV row refused is reported with its line; the others are added; exit 1", async () => {
    const file = join(p.configDir, "mixed.csv");
    writeFileSync(
      file,
      ["tipo,cpf,nome", `PF,${sample(cpfArbitrary())},Carla Dias`, "PF,52998224724,CPF Errado", ""].join(
        "\n",
      ),
    );
    const run = await p.cli(["consorciados", "add", "--csv", file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/│ 3\s+│\s+│ invalid_argument: .*cpf/);
    expect(run.stderr).toContain("1 of 2 rows refused");
  });

  test("a consorciado joins the grupo: cota number 1 (adesão)", async () => {
    const run = await p.cli([
      "cotas",
      "aderir",
      "--grupo",
      grupoId,
      "--consorciado",
      consorciadoIds[0] ?? "",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/número\s+│ 1\s/);
    expect(run.stdout).toContain(consorciadoIds[0]);
    const list = await p.cli(["--json", "grupos", "show", grupoId]);
    expect(JSON.parse(list.stdout).grupo.cotasOcupadas).toBe(1);
  });

  test("the grupo is activated at its first assembleia", async () => {
    const early = await p.cli(["grupos", "activate", grupoId]);
    expect(early.code).toBe(1);
    expect(early.stderr).toBe("error: failed_precondition: the first assembleia is on 2027-03-18\n");
    await p.clock.set(new Date("2027-03-18T12:00:00Z"));
    const activated = await p.cli(["--json", "grupos", "activate", grupoId]);
    expect(activated.stderr).toBe("");
    expect(JSON.parse(activated.stdout).grupo.status).toBe("GRUPO_STATUS_ATIVO");
  });

  test("a validation error is one line: the code, the message and every field violation", async () => {
    const run = await p.cli([
      "grupos",
      "create",
      "--codigo",
      "bad code",
      "--nome",
      "x",
      "--segmento",
      "IMOVEL",
      "--bem",
      "Casa",
      "--preco",
      "300000",
      "--prazo",
      "12",
      "--cotas",
      "20",
      "--taxa-administracao",
      "15",
      "--fundo-reserva",
      "2",
      "--indice",
      "INCC",
      "--dia-vencimento",
      "31",
      "--primeira-assembleia",
      "2027-03-18",
      "--lances",
      "LIVRE",
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: invalid_argument: /);
    expect(lines[0]).toContain("grupo.codigo");
    expect(lines[0]).toMatch(/grupo\.codigo: [^;]+; grupo\.dia_vencimento: /);
  });

  test("usage errors exit 2: an unknown command (through npx), a bad flag value, a missing option", async () => {
    const unknown = await p.cli(["grupos", "explode"], { via: "npx" });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command");
    const badEnum = await p.cli(["grupos", "list", "--status", "FELIZ"]);
    expect(badEnum.code).toBe(2);
    expect(badEnum.stderr).toMatch(/^error: --status: "FELIZ" is not one of EM_FORMACAO, ATIVO/);
    const missing = await p.cli(["cotas", "aderir", "--grupo", grupoId]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--consorciado");
    const help = await p.cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("extracao");
  });

  test("logout revokes the session and deletes the file; commands then ask for a login", async () => {
    const stored = JSON.parse(readFileSync(credentials(), "utf8"));
    const logout = await p.cli(["logout"]);
    expect(logout.code).toBe(0);
    expect(() => statSync(credentials())).toThrow();
    const after = await p.cli(["grupos", "list"]);
    expect(after.code).toBe(1);
    expect(after.stderr).toBe("error: not logged in: run `consorcio login` first\n");
    // The revoked refresh token no longer renews anything.
    writeFileSync(credentials(), JSON.stringify({ ...stored, accessExpiresAt: 0 }), { mode: 0o600 });
    const revoked = await p.cli(["whoami"]);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(/^error: session expired/);
  });

  test("on a terminal, login asks the password without echoing it", async () => {
    const run = await p.cliOnTerminal(["login", "-u", "admin"], "password: ", p.adminPassword);
    expect(run.stdout).toContain("logged in as admin");
    expect(run.stdout).not.toContain(p.adminPassword);
    expect(run.code).toBe(0);
    expect(statSync(credentials()).mode & 0o777).toBe(0o600);
  });
});
