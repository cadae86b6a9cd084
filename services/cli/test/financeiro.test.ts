// The CLI's financeiro commands against real identidade and financeiro: billing, parcelas, a CNAB
// retorno import with its per-line report, and the extrato it leaves.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { civilDate } from "@consorcio/domain";
import { afterAll, beforeAll, expect, test } from "vitest";
import { FEBRABAN_240_V088 } from "../../financeiro/src/domain/cnab240/layout.ts";
import { writeRetorno } from "../../financeiro/src/domain/cnab240/retorno.ts";
import { type Financeiro, grupoComCotas, startFinanceiro } from "../../financeiro/test/support.ts";
import { cliRunner, startIdentidade } from "./support.ts";

let stack: Awaited<ReturnType<typeof startIdentidade>>;
let f: Financeiro;
let runner: Awaited<ReturnType<typeof cliRunner>>;

beforeAll(async () => {
  stack = await startIdentidade();
  f = await startFinanceiro({ JWKS_URL: stack.jwksUrl });
  runner = await cliRunner({ IDENTIDADE_URL: stack.identidade.service.url, FINANCEIRO_URL: f.service.url });
  const login = await runner.cli(["login", "-u", "admin", "--password-stdin"], {
    input: stack.adminPassword,
  });
  expect(login.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await f?.stop();
  await stack?.identidade.stop();
  await runner?.cleanup();
});

interface ParcelaJson {
  id: string;
  cotaId: string;
  competencia: string;
  nossoNumero: string;
  valorCentavos: string;
}

test("billing run, parcelas list, cnab import (applied, duplicated, rejected by line) and the extrato", {
  timeout: 120_000,
}, async () => {
  const { grupoId } = await grupoComCotas(f, 3);
  const billed = await runner.cli([
    "--json",
    "billing",
    "run",
    "--grupo",
    grupoId,
    "--competencia",
    "2026-04",
  ]);
  expect(billed.stderr).toBe("");
  expect(billed.code).toBe(0);
  const first = JSON.parse(billed.stdout) as { geradas?: number; existentes?: number };
  expect(first.geradas).toBe(3);
  const again = await runner.cli(["billing", "run", "--grupo", grupoId, "--competencia", "2026-04"]);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/já existentes\s+│ 3\s/);

  const listed = await runner.cli([
    "--json",
    "parcelas",
    "list",
    "--grupo",
    grupoId,
    "--competencia",
    "2026-04",
  ]);
  expect(listed.code).toBe(0);
  const parcelas = (JSON.parse(listed.stdout) as { parcelas: ParcelaJson[] }).parcelas;
  expect(parcelas).toHaveLength(3);
  const paid = parcelas[0] as ParcelaJson;
  const valor = BigInt(paid.valorCentavos);

  const titulo = (nossoNumero: string) => ({
    nossoNumero,
    codigoMovimento: "06",
    valorTituloCentavos: valor,
    valorPagoCentavos: valor,
    dataPagamento: civilDate(2026, 3, 2),
    dataCredito: civilDate(2026, 3, 3),
  });
  const file = join(runner.configDir, "RET0001.ret");
  const text = writeRetorno(
    {
      empresa: {
        banco: "001",
        bancoNome: "BANCO DO BRASIL",
        empresaTipoInscricao: "2",
        empresaInscricao: "12345678000195",
        empresaNome: "ADMINISTRADORA TESTE",
        convenio: "1234567",
        agencia: "1234",
        agenciaDv: "5",
        conta: "56789",
        contaDv: "9",
      },
      sequencialArquivo: 1,
      dataGeracao: civilDate(2026, 3, 3),
      titulos: [titulo(paid.nossoNumero), titulo(paid.nossoNumero), titulo("99999999999999999")],
    },
    FEBRABAN_240_V088,
  );
  writeFileSync(file, Buffer.from(text, "latin1"));
  // Lines: 1 header, 2 lote header, 3-4 the título, 5-6 it again, 7-8 an unknown nosso número.
  const imported = await runner.cli(["cnab", "import", file]);
  expect(imported.stderr).toBe("");
  expect(imported.code).toBe(0);
  expect(imported.stdout).toMatch(/aplicadas\s+│ 1\s/);
  expect(imported.stdout).toMatch(/duplicadas\s+│ 1\s/);
  expect(imported.stdout).toMatch(/│ 5\s+│ DUPLICADA\s+│/);
  expect(imported.stdout).toMatch(/│ 7\s+│ REJEITADA\s+│ 99999999999999999/);
  expect(imported.stdout).not.toContain("APLICADA");

  const extrato = await runner.cli(["extrato", "--cota", paid.cotaId]);
  expect(extrato.stderr).toBe("");
  expect(extrato.code).toBe(0);
  expect(extrato.stdout).toContain("2026-04");
  expect(extrato.stdout).toContain("PAGA");
  expect(extrato.stdout).toMatch(/fundo comum\s+│ \d/);
  const json = await runner.cli(["--json", "extrato", "--cota", paid.cotaId]);
  expect(
    BigInt((JSON.parse(json.stdout) as { extrato: { pagoCentavos: string } }).extrato.pagoCentavos),
  ).toBe(valor);
});
