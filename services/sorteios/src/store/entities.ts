import { defineEntity, p } from "@mikro-orm/core";

export type AssembleiaStatus = "AGENDADA" | "ABERTA_PARA_LANCES" | "APURADA" | "ENCERRADA";

/** An assembleia of a grupo, with the four-eyes Loteria Federal extraction it is drawn from. */
export const AssembleiaRow = defineEntity({
  name: "AssembleiaRow",
  tableName: "assembleia",
  properties: {
    id: p.uuid().primary(),
    grupoId: p.uuid(),
    numero: p.integer(),
    /** Civil date, YYYY-MM-DD. */
    data: p.string(),
    status: p.string().$type<AssembleiaStatus>(),
    lancesEncerradosAt: p.datetime().nullable(),
    extracaoNumero: p.integer().nullable(),
    extracaoData: p.string().nullable(),
    premios: p.array().$type<string[]>().nullable(),
    registradaPor: p.string().nullable(),
    registradaAt: p.datetime().nullable(),
    confirmadaPor: p.string().nullable(),
    confirmadaAt: p.datetime().nullable(),
    apuradaAt: p.datetime().nullable(),
    encerradaAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
});

export type TipoLanceRow = "LIVRE" | "FIXO" | "EMBUTIDO";
export type LanceStatus = "REGISTRADO" | "CONTEMPLADO" | "NAO_CONTEMPLADO" | "CANCELADO";

/** One lance per cota per assembleia; a replacement updates the row. */
export const LanceRow = defineEntity({
  name: "LanceRow",
  tableName: "lance",
  properties: {
    id: p.uuid().primary(),
    assembleiaId: p.uuid(),
    grupoId: p.uuid(),
    cotaId: p.uuid(),
    cotaNumero: p.integer(),
    consorciadoId: p.uuid(),
    tipo: p.string().$type<TipoLanceRow>(),
    percentual: p.string(),
    percentualEmbutido: p.string(),
    valorCentavos: p.bigint(),
    embutidoCentavos: p.bigint(),
    status: p.string().$type<LanceStatus>(),
    registradoPor: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
});

/** The audit record: canonical input and result with their hashes; the cash left for compensations. */
export const ApuracaoRow = defineEntity({
  name: "ApuracaoRow",
  tableName: "apuracao",
  properties: {
    assembleiaId: p.uuid().primary(),
    grupoId: p.uuid(),
    entradaJson: p.text(),
    entradaSha256: p.string(),
    resultadoJson: p.text(),
    resultadoSha256: p.string(),
    /** Fundo comum left after the apuração and the compensations since. */
    saldoCentavos: p.bigint(),
    apuradaAt: p.datetime(),
  },
});

export type ModalidadeRow = "SORTEIO" | "RESTITUICAO" | "LANCE_FIXO" | "LANCE_LIVRE";
export type ContemplacaoStatus = "PROCESSADA" | "LANCE_PAGO" | "CREDITO_LIBERADO" | "CANCELADA";

export const ContemplacaoRow = defineEntity({
  name: "ContemplacaoRow",
  tableName: "contemplacao",
  properties: {
    id: p.uuid().primary(),
    assembleiaId: p.uuid(),
    grupoId: p.uuid(),
    cotaId: p.uuid(),
    cotaNumero: p.integer(),
    modalidade: p.string().$type<ModalidadeRow>(),
    creditoCentavos: p.bigint(),
    lanceCentavos: p.bigint(),
    embutidoCentavos: p.bigint(),
    custoCentavos: p.bigint(),
    lancePercentual: p.string(),
    status: p.string().$type<ContemplacaoStatus>(),
    /** grupos marked the cota CONTEMPLADA (its CotaSituacaoAlterada). */
    cotaMarcada: p.boolean(),
    substituiContemplacaoId: p.uuid().nullable(),
    ordem: p.integer(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
});

/** The saga's log, one row per step sorteios saw. */
export const SagaPassoRow = defineEntity({
  name: "SagaPassoRow",
  tableName: "saga_passo",
  properties: {
    id: p.uuid().primary(),
    assembleiaId: p.uuid(),
    contemplacaoId: p.uuid().nullable(),
    cotaNumero: p.integer(),
    evento: p.string(),
    descricao: p.string(),
    occurredAt: p.datetime(),
  },
});

export const entities = [AssembleiaRow, LanceRow, ApuracaoRow, ContemplacaoRow, SagaPassoRow];
