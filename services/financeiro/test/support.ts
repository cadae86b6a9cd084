import { randomBytes, randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { CreditoService } from "@consorcio/gen/consorcio/financeiro/v1/credito_service_pb.js";
import { ExtratoService } from "@consorcio/gen/consorcio/financeiro/v1/extrato_service_pb.js";
import { LedgerService } from "@consorcio/gen/consorcio/financeiro/v1/ledger_service_pb.js";
import { ParcelaService } from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import { RestituicaoService } from "@consorcio/gen/consorcio/financeiro/v1/restituicao_service_pb.js";
import { SimuladorService } from "@consorcio/gen/consorcio/financeiro/v1/simulador_service_pb.js";
import { CotaAderidaSchema } from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import { GrupoSchema } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { createTestClock } from "@consorcio/platform/clock.ts";
import {
  createTestIssuer,
  deleteQueues,
  eventually,
  serveJwks,
  startTestS3,
  startTestService,
  type TestService,
} from "@consorcio/platform/testing.ts";
import { uuidv7 } from "uuidv7";
import { service } from "../src/service.ts";

export const PIX_SECRET = randomBytes(32).toString("hex");

export const financeiroEnv = {
  PIX_WEBHOOK_SECRET: PIX_SECRET,
  PIX_CHAVE: "12345678000195",
  PIX_NOME_RECEBEDOR: "ADMINISTRADORA TESTE",
  PIX_CIDADE: "SAO PAULO",
  BOLETO_BANCO: "001",
  BOLETO_AGENCIA: "1234",
  BOLETO_CONTA: "56789",
  BOLETO_CARTEIRA: "17",
  BOLETO_CONVENIO: "1234567",
  BOLETO_AGENCIA_DV: "5",
  BOLETO_CONTA_DV: "9",
  CNAB_BANCO_NOME: "BANCO DO BRASIL",
  CNAB_EMPRESA_CNPJ: "12345678000195",
  CNAB_EMPRESA_NOME: "ADMINISTRADORA TESTE",
};

/** financeiro on a fresh database, its own queue, a local S3 and a clock the test moves. */
export async function startFinanceiro(
  env: Record<string, string> = {},
  start = new Date("2026-03-01T12:00:00Z"),
) {
  const issuer = await createTestIssuer();
  const jwks = await serveJwks(issuer.jwks);
  const s3 = await startTestS3();
  const clock = createTestClock(start);
  const queue = `financeiro.test.${randomUUID().slice(0, 8)}`;
  const running: TestService = await startTestService(
    service,
    { ...financeiroEnv, ...s3.env, JWKS_URL: jwks.url, FINANCEIRO_QUEUE: queue, ...env },
    { clock },
  );
  const transport = createConnectTransport({ baseUrl: running.service.url, httpVersion: "2" });
  const staff = await issuer.token({ roles: [Role.FINANCEIRO, Role.ADMIN] });
  const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const clients = {
    simulador: createClient(SimuladorService, transport),
    parcelas: createClient(ParcelaService, transport),
    ledger: createClient(LedgerService, transport),
    extrato: createClient(ExtratoService, transport),
    creditos: createClient(CreditoService, transport),
    restituicoes: createClient(RestituicaoService, transport),
  };
  const em = () => running.service.context.db.fork();
  return {
    ...running,
    ...clients,
    issuer,
    clock,
    queue,
    staff: auth(staff),
    auth,
    em,
    async sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
      return em().execute<T[]>(query, params);
    },
    /** Publishes an event on the real broker, as its producer would. */
    async publish<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>, id = uuidv7()) {
      await running.service.context.bus.publish([
        {
          id,
          type: schema.typeName,
          routingKey: schema.typeName,
          body: toBinary(schema, create(schema, init)),
          headers: {},
          timestamp: new Date(),
        },
      ]);
      return id;
    },
    async stop() {
      await running.stop();
      await jwks.close();
      await s3.close();
      await deleteQueues([queue]);
    },
  };
}

export type Financeiro = Awaited<ReturnType<typeof startFinanceiro>>;

export interface GrupoTeste {
  grupoId: string;
  cotas: { cotaId: string; consorciadoId: string }[];
}

/** A grupo of R$ 30.000,00, 60 months, TA 15%, FR 2%, due day 10, with `n` cotas joined by CotaAderida. */
export async function grupoComCotas(
  f: Financeiro,
  n: number,
  adesao = { year: 2026, month: 3, day: 2 },
  overrides: Record<string, unknown> = {},
): Promise<GrupoTeste> {
  const grupoId = uuidv7();
  const grupo = create(GrupoSchema, {
    id: grupoId,
    codigo: `T-${grupoId.slice(-6).toUpperCase()}`,
    bem: { descricao: "Automóvel", codigo: "AUTO", precoCentavos: 3_000_000n },
    prazoMeses: 60,
    quantidadeCotas: 100,
    percentualTaxaAdministracao: "15",
    percentualFundoReserva: "2",
    percentualSeguroMensal: "",
    diaVencimento: 10,
    parcelasAtrasoExclusao: 3,
    encargos: { percentualMulta: "2", percentualJurosMensal: "1", percentualGrupo: "50" },
    ...overrides,
  } as MessageInitShape<typeof GrupoSchema>);
  const cotas = Array.from({ length: n }, () => ({ cotaId: uuidv7(), consorciadoId: randomUUID() }));
  for (const [i, c] of cotas.entries())
    await f.publish(CotaAderidaSchema, {
      cotaId: c.cotaId,
      grupoId,
      consorciadoId: c.consorciadoId,
      numero: i + 1,
      dataAdesao: adesao,
      mesPrimeiraParcela: 1,
      grupo,
    });
  await eventually(async () => {
    const [row] = await f.sql<{ n: number }>("select count(*)::int as n from cota where grupo_id = ?", [
      grupoId,
    ]);
    return row?.n === n;
  }, 20_000);
  return { grupoId, cotas };
}

export type FinanceiroClients = Pick<Financeiro, "parcelas" | "ledger">;
export type { Client };
