// Rows and domain values to and from the contract's messages.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type CivilDate, parseIsoDate } from "@consorcio/domain";
import {
  CausaAlteracao,
  type Cota,
  CotaSchema,
  CotaSituacao,
  type HistoricoCota,
  HistoricoCotaSchema,
} from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  type DataCronograma as DataCronogramaMessage,
  DataCronogramaSchema,
  ExtracaoLoteria,
  type Grupo,
  GrupoSchema,
  GrupoStatus,
  Indice,
  Segmento,
  TipoLance,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import type { GrupoStatus as Status } from "./domain/ciclo.ts";
import type { Causa, Situacao } from "./domain/cota.ts";
import type { DataCronograma } from "./domain/cronograma.ts";
import type {
  Extracao,
  Parametros,
  ParametrosEntrada,
  Segmento as SegmentoNome,
} from "./domain/parametros.ts";
import type { CotaHistoricoRow, CotaRow, GrupoRow } from "./store/entities.ts";

export type GrupoEntity = InstanceType<typeof GrupoRow.class>;
export type CotaEntity = InstanceType<typeof CotaRow.class>;
export type HistoricoEntity = InstanceType<typeof CotaHistoricoRow.class>;

type NumericEnum = Record<string, string | number>;

/** The value's name in a generated enum, or undefined for UNSPECIFIED and unknown values. */
export function enumName<N extends string>(e: NumericEnum, value: number): N | undefined {
  const name = e[value];
  return typeof name === "string" && value !== 0 ? (name as N) : undefined;
}

export function enumValue<V extends number>(e: NumericEnum, name: string): V {
  const value = e[name];
  return (typeof value === "number" ? value : 0) as V;
}

const dateMessage = (d: CivilDate) => ({ year: d.year, month: d.month, day: d.day });

/** A request's Grupo as domain input; absent parts read as empty (defaults fill them). */
export function parametrosFromMessage(g: Grupo): ParametrosEntrada {
  return {
    codigo: g.codigo,
    nome: g.nome,
    segmento: enumName<SegmentoNome>(Segmento, g.segmento),
    bem: {
      descricao: g.bem?.descricao ?? "",
      codigo: g.bem?.codigo ?? "",
      precoCentavos: g.bem?.precoCentavos ?? 0n,
    },
    prazoMeses: g.prazoMeses,
    quantidadeCotas: g.quantidadeCotas,
    taxaAdministracao: g.percentualTaxaAdministracao,
    fundoReserva: g.percentualFundoReserva,
    seguroMensal: g.percentualSeguroMensal,
    taxaAntecipada: g.percentualTaxaAntecipada ?? null,
    indice: enumName(Indice, g.indice),
    diaVencimento: g.diaVencimento,
    primeiraAssembleia: g.primeiraAssembleia
      ? { year: g.primeiraAssembleia.year, month: g.primeiraAssembleia.month, day: g.primeiraAssembleia.day }
      : undefined,
    regrasLance: {
      tipos: (g.regrasLance?.tiposPermitidos ?? []).map(
        (t) => enumName(TipoLance, t) as Parametros["regrasLance"]["tipos"][number],
      ),
      minimoLivre: g.regrasLance?.percentualMinimoLivre ?? "",
      fixo: g.regrasLance?.percentualFixo ?? "",
      maximoEmbutido: g.regrasLance?.percentualMaximoEmbutido ?? "",
      prazoPagamentoDiasUteis: g.regrasLance?.prazoPagamentoDiasUteis ?? 0,
    },
    regrasSorteio: {
      extracao: enumName<Extracao>(ExtracaoLoteria, g.regrasSorteio?.extracao ?? 0),
      premios: g.regrasSorteio?.premiosConsiderados ?? 0,
      candidatosDeslocados: !g.regrasSorteio?.semCandidatosDeslocados,
      sorteioExcluidos: !g.regrasSorteio?.semSorteioExcluidos,
    },
    contemplacoesPorAssembleia: g.contemplacoesPorAssembleia,
    parcelasAtrasoExclusao: g.parcelasAtrasoExclusao,
    encargos: {
      multa: g.encargos?.percentualMulta ?? "",
      jurosMensal: g.encargos?.percentualJurosMensal ?? "",
      grupo: g.encargos?.percentualGrupo ?? "",
    },
    penalidadeRestituicao: g.percentualPenalidadeRestituicao,
    fundoComumMensal: [...g.percentuaisFundoComum],
  };
}

/** Parameters as stored in the row's JSON: the preço as a string, dates as ISO text. */
export function parametrosToJson(p: Parametros): Record<string, unknown> {
  return {
    ...p,
    bem: { ...p.bem, precoCentavos: p.bem.precoCentavos.toString() },
    primeiraAssembleia: `${p.primeiraAssembleia.year}-${String(p.primeiraAssembleia.month).padStart(2, "0")}-${String(p.primeiraAssembleia.day).padStart(2, "0")}`,
  };
}

export function parametrosFromJson(json: Record<string, unknown>): Parametros {
  const raw = json as unknown as Parametros & {
    bem: { precoCentavos: string };
    primeiraAssembleia: string;
  };
  return {
    ...raw,
    bem: { ...raw.bem, precoCentavos: BigInt(raw.bem.precoCentavos) },
    primeiraAssembleia: parseIsoDate(raw.primeiraAssembleia),
  };
}

export function grupoToMessage(row: GrupoEntity): Grupo {
  const p = parametrosFromJson(row.parametros);
  return create(GrupoSchema, {
    id: row.id,
    codigo: p.codigo,
    nome: p.nome,
    segmento: enumValue(Segmento, p.segmento),
    bem: { descricao: p.bem.descricao, codigo: p.bem.codigo, precoCentavos: p.bem.precoCentavos },
    prazoMeses: p.prazoMeses,
    quantidadeCotas: p.quantidadeCotas,
    percentualTaxaAdministracao: p.taxaAdministracao,
    percentualFundoReserva: p.fundoReserva,
    percentualSeguroMensal: p.seguroMensal,
    ...(p.taxaAntecipada !== null ? { percentualTaxaAntecipada: p.taxaAntecipada } : {}),
    indice: enumValue(Indice, p.indice),
    diaVencimento: p.diaVencimento,
    primeiraAssembleia: dateMessage(p.primeiraAssembleia),
    regrasLance: {
      tiposPermitidos: p.regrasLance.tipos.map((t) => enumValue<TipoLance>(TipoLance, t)),
      percentualMinimoLivre: p.regrasLance.minimoLivre,
      percentualFixo: p.regrasLance.fixo,
      percentualMaximoEmbutido: p.regrasLance.maximoEmbutido,
      prazoPagamentoDiasUteis: p.regrasLance.prazoPagamentoDiasUteis,
    },
    regrasSorteio: {
      extracao: enumValue(ExtracaoLoteria, p.regrasSorteio.extracao),
      premiosConsiderados: p.regrasSorteio.premios,
      semCandidatosDeslocados: !p.regrasSorteio.candidatosDeslocados,
      semSorteioExcluidos: !p.regrasSorteio.sorteioExcluidos,
    },
    contemplacoesPorAssembleia: p.contemplacoesPorAssembleia,
    parcelasAtrasoExclusao: p.parcelasAtrasoExclusao,
    encargos: {
      percentualMulta: p.encargos.multa,
      percentualJurosMensal: p.encargos.jurosMensal,
      percentualGrupo: p.encargos.grupo,
    },
    percentualPenalidadeRestituicao: p.penalidadeRestituicao,
    percentuaisFundoComum: p.fundoComumMensal,
    status: enumValue(GrupoStatus, row.status),
    cotasOcupadas: row.cotasOcupadas,
    createTime: timestampFromDate(row.createdAt),
    updateTime: timestampFromDate(row.updatedAt),
    ...(row.ativadoAt ? { ativacaoTime: timestampFromDate(row.ativadoAt) } : {}),
    ...(row.encerramentoInicioAt
      ? { encerramentoInicioTime: timestampFromDate(row.encerramentoInicioAt) }
      : {}),
    ...(row.encerradoAt ? { encerramentoTime: timestampFromDate(row.encerradoAt) } : {}),
    version: row.version,
  });
}

export function statusFromMessage(status: GrupoStatus): Status | undefined {
  return enumName<Status>(GrupoStatus, status);
}

export function situacaoValue(situacao: Situacao | null | undefined): CotaSituacao {
  return situacao ? enumValue(CotaSituacao, situacao) : CotaSituacao.UNSPECIFIED;
}

export function causaValue(causa: Causa): CausaAlteracao {
  return enumValue(CausaAlteracao, causa);
}

export interface CotaFields {
  id: string;
  grupoId: string;
  numero: number;
  consorciadoId: string;
  situacao: Situacao;
  contemplada: boolean;
  contemplacaoId: string | null | undefined;
  dataAdesao: string;
  adesaoAt: Date;
  canceladaAt?: Date | null | undefined;
  updatedAt: Date;
  version: number;
}

export function cotaToMessage(row: CotaFields): Cota {
  return create(CotaSchema, {
    id: row.id,
    grupoId: row.grupoId,
    numero: row.numero,
    consorciadoId: row.consorciadoId,
    situacao: situacaoValue(row.situacao),
    contemplada: row.contemplada,
    contemplacaoId: row.contemplacaoId ?? "",
    dataAdesao: dateMessage(parseIsoDate(row.dataAdesao)),
    adesaoTime: timestampFromDate(row.adesaoAt),
    updateTime: timestampFromDate(row.updatedAt),
    ...(row.canceladaAt ? { cancelamentoTime: timestampFromDate(row.canceladaAt) } : {}),
    version: row.version,
  });
}

export function historicoToMessage(row: HistoricoEntity): HistoricoCota {
  return create(HistoricoCotaSchema, {
    sequencia: row.sequencia,
    causa: causaValue(row.causa),
    situacaoAnterior: situacaoValue(row.situacaoAnterior),
    situacao: situacaoValue(row.situacao),
    contemplada: row.contemplada,
    consorciadoAnteriorId: row.consorciadoAnteriorId ?? "",
    consorciadoId: row.consorciadoId,
    origemId: row.origemId,
    actor: row.actor,
    time: timestampFromDate(row.occurredAt),
  });
}

export function cronogramaToMessage(datas: readonly DataCronograma[]): DataCronogramaMessage[] {
  return datas.map((d) =>
    create(DataCronogramaSchema, {
      mes: d.mes,
      assembleia: dateMessage(d.assembleia),
      vencimento: dateMessage(d.vencimento),
      assembleiaPrevista: dateMessage(d.assembleiaPrevista),
      vencimentoPrevisto: dateMessage(d.vencimentoPrevisto),
    }),
  );
}
