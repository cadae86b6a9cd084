// Mapped for the schema drift check and simple reads; bulk work (billing, CNAB, payments) is
// set-based SQL in the store modules, never one ORM flush per row.
import { defineEntity, p } from "@mikro-orm/core";

const numeric = () => p.string().columnType("numeric");

export const GrupoRow = defineEntity({
  name: "GrupoRow",
  tableName: "grupo",
  properties: {
    id: p.uuid().primary(),
    codigo: p.string(),
    precoCentavos: p.bigint(),
    prazoMeses: p.integer(),
    taxaAdministracao: numeric(),
    fundoReserva: numeric(),
    seguroMensal: numeric(),
    antecipacaoTaxa: numeric(),
    fundoComumPorMes: p.array().nullable(),
    diaVencimento: p.integer(),
    limiteInadimplencia: p.integer(),
    percentualEncargosGrupo: numeric(),
    penalidadeRestituicao: numeric(),
    prazoLanceDiasUteis: p.integer(),
    indice: p.string(),
    updatedAt: p.datetime(),
  },
});

export const CotaRow = defineEntity({
  name: "CotaRow",
  tableName: "cota",
  properties: {
    id: p.uuid().primary(),
    grupoId: p.uuid(),
    consorciadoId: p.uuid(),
    numero: p.integer(),
    situacao: p.string(),
    contemplada: p.boolean(),
    dataAdesao: p.date(),
    mesInicial: p.integer(),
    creditoCentavos: p.bigint(),
    updatedAt: p.datetime(),
    version: p.integer().version(),
  },
});

export const ParcelaRow = defineEntity({
  name: "ParcelaRow",
  tableName: "parcela",
  properties: {
    id: p.uuid().primary(),
    cotaId: p.uuid(),
    grupoId: p.uuid(),
    consorciadoId: p.uuid(),
    competencia: p.string(),
    tipo: p.string(),
    numero: p.integer(),
    vencimento: p.date(),
    valorCentavos: p.bigint(),
    fundoComumCentavos: p.bigint(),
    taxaAdministracaoCentavos: p.bigint(),
    fundoReservaCentavos: p.bigint(),
    seguroCentavos: p.bigint(),
    taxaAntecipadaCentavos: p.bigint(),
    diferencaPrecoCentavos: p.bigint(),
    fundoComumPercentual: numeric(),
    taxaAdministracaoPercentual: numeric(),
    fundoReservaPercentual: numeric(),
    nossoNumero: p.string(),
    codigoBarras: p.string(),
    linhaDigitavel: p.string(),
    pixTxid: p.string(),
    pixCopiaECola: p.text().fieldName("pix_copia_e_cola"),
    situacao: p.string(),
    pagoCentavos: p.bigint(),
    encargosPagosCentavos: p.bigint(),
    contemplacaoId: p.uuid().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    version: p.integer().version(),
  },
});

export const PagamentoRow = defineEntity({
  name: "PagamentoRow",
  tableName: "pagamento",
  properties: {
    id: p.uuid().primary(),
    parcelaId: p.uuid().nullable(),
    cotaId: p.uuid().nullable(),
    grupoId: p.uuid().nullable(),
    canal: p.string(),
    canalId: p.string(),
    valorCentavos: p.bigint(),
    dataPagamento: p.date(),
    resultado: p.string(),
    principalCentavos: p.bigint(),
    multaCentavos: p.bigint(),
    jurosCentavos: p.bigint(),
    creditoCentavos: p.bigint(),
    estornoCentavos: p.bigint(),
    motivo: p.text(),
    createdAt: p.datetime(),
  },
});

export const LancamentoRow = defineEntity({
  name: "LancamentoRow",
  tableName: "lancamento",
  properties: {
    id: p.uuid().primary(),
    grupoId: p.uuid(),
    cotaId: p.uuid().nullable(),
    tipo: p.string(),
    historico: p.text(),
    origem: p.string(),
    createdAt: p.datetime(),
  },
});

export const PartidaRow = defineEntity({
  name: "PartidaRow",
  tableName: "partida",
  properties: {
    lancamentoId: p.uuid().primary(),
    conta: p.string().primary(),
    grupoId: p.uuid(),
    valorCentavos: p.bigint(),
  },
});

export const ImportacaoCnabRow = defineEntity({
  name: "ImportacaoCnabRow",
  tableName: "importacao_cnab",
  properties: {
    id: p.uuid().primary(),
    layout: p.string(),
    nomeArquivo: p.string(),
    arquivoKey: p.string(),
    sha256: p.string(),
    aplicadas: p.integer(),
    duplicadas: p.integer(),
    rejeitadas: p.integer(),
    linhas: p.json(),
    createdAt: p.datetime(),
  },
});

export const CreditoRow = defineEntity({
  name: "CreditoRow",
  tableName: "credito",
  properties: {
    contemplacaoId: p.uuid().primary(),
    assembleiaId: p.uuid(),
    grupoId: p.uuid(),
    cotaId: p.uuid(),
    modalidade: p.string(),
    creditoCentavos: p.bigint(),
    lanceCentavos: p.bigint(),
    lanceEmbutidoCentavos: p.bigint(),
    lancePrazo: p.date().nullable(),
    situacao: p.string(),
    garantias: p.text().nullable(),
    liberadoAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    version: p.integer().version(),
  },
});

export const RestituicaoRow = defineEntity({
  name: "RestituicaoRow",
  tableName: "restituicao",
  properties: {
    id: p.uuid().primary(),
    cotaId: p.uuid(),
    grupoId: p.uuid(),
    motivo: p.string(),
    fundoComumPagoPercentual: numeric(),
    precoCentavos: p.bigint(),
    penalidadeCentavos: p.bigint(),
    valorCentavos: p.bigint(),
    situacao: p.string(),
    assembleiaId: p.uuid().nullable(),
    createdAt: p.datetime(),
    pagaAt: p.datetime().nullable(),
  },
});

export const entities = [
  GrupoRow,
  CotaRow,
  ParcelaRow,
  PagamentoRow,
  LancamentoRow,
  PartidaRow,
  ImportacaoCnabRow,
  CreditoRow,
  RestituicaoRow,
];
