// Rows to contract messages and back (dates, enums).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Assembleia,
  AssembleiaSchema,
  AssembleiaStatus,
  type Contemplacao,
  ContemplacaoSchema,
  ContemplacaoStatus,
  type Extracao,
  ExtracaoSchema,
  Modalidade,
} from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import {
  type Lance,
  LanceSchema,
  LanceStatus,
  TipoLance,
} from "@consorcio/gen/consorcio/sorteios/v1/lance_pb.js";
import { type Date as CivilDate, DateSchema } from "@consorcio/gen/google/type/date_pb.js";
import type { InferEntity } from "@mikro-orm/core";
import type { TipoLance as TipoDominio } from "./domain/lances.ts";
import type { AssembleiaRow, ContemplacaoRow, LanceRow } from "./store/entities.ts";

export type Assembleias = InferEntity<typeof AssembleiaRow>;
export type Lances = InferEntity<typeof LanceRow>;
export type Contemplacoes = InferEntity<typeof ContemplacaoRow>;

const ts = (d: Date | null | undefined) => (d ? timestampFromDate(d) : undefined);

export function dateToText(date: CivilDate | undefined): string {
  if (!date) return "";
  return `${String(date.year).padStart(4, "0")}-${String(date.month).padStart(2, "0")}-${String(date.day).padStart(2, "0")}`;
}

export function textToDate(text: string | null | undefined): CivilDate | undefined {
  if (!text) return undefined;
  const [year, month, day] = text.split("-").map(Number);
  return create(DateSchema, { year: year ?? 0, month: month ?? 0, day: day ?? 0 });
}

export function extracaoToMessage(row: Assembleias): Extracao | undefined {
  if (row.extracaoNumero === null || row.extracaoNumero === undefined) return undefined;
  return create(ExtracaoSchema, {
    numero: row.extracaoNumero,
    data: textToDate(row.extracaoData),
    premios: row.premios ?? [],
    registradaPor: row.registradaPor ?? "",
    registradaTime: ts(row.registradaAt),
    confirmadaPor: row.confirmadaPor ?? "",
    confirmadaTime: ts(row.confirmadaAt),
  });
}

export function assembleiaToMessage(row: Assembleias): Assembleia {
  return create(AssembleiaSchema, {
    id: row.id,
    grupoId: row.grupoId,
    numero: row.numero,
    data: textToDate(row.data),
    status: AssembleiaStatus[row.status],
    lancesEncerradosTime: ts(row.lancesEncerradosAt),
    extracao: extracaoToMessage(row),
    apuradaTime: ts(row.apuradaAt),
    encerradaTime: ts(row.encerradaAt),
    createTime: ts(row.createdAt),
    updateTime: ts(row.updatedAt),
    version: row.version,
  });
}

export const tipoFromMessage = (tipo: TipoLance): TipoDominio =>
  tipo === TipoLance.FIXO ? "FIXO" : tipo === TipoLance.EMBUTIDO ? "EMBUTIDO" : "LIVRE";

export function lanceToMessage(row: Lances): Lance {
  return create(LanceSchema, {
    id: row.id,
    assembleiaId: row.assembleiaId,
    grupoId: row.grupoId,
    cotaId: row.cotaId,
    cotaNumero: row.cotaNumero,
    consorciadoId: row.consorciadoId,
    tipo: TipoLance[row.tipo],
    percentual: row.percentual,
    percentualEmbutido: row.percentualEmbutido,
    valorCentavos: BigInt(row.valorCentavos),
    embutidoCentavos: BigInt(row.embutidoCentavos),
    status: LanceStatus[row.status],
    registradoPor: row.registradoPor,
    createTime: ts(row.createdAt),
    updateTime: ts(row.updatedAt),
    version: row.version,
  });
}

export function contemplacaoToMessage(row: Contemplacoes): Contemplacao {
  return create(ContemplacaoSchema, {
    id: row.id,
    assembleiaId: row.assembleiaId,
    grupoId: row.grupoId,
    cotaId: row.cotaId,
    cotaNumero: row.cotaNumero,
    modalidade: Modalidade[row.modalidade],
    creditoCentavos: BigInt(row.creditoCentavos),
    lanceCentavos: BigInt(row.lanceCentavos),
    lanceEmbutidoCentavos: BigInt(row.embutidoCentavos),
    custoCentavos: BigInt(row.custoCentavos),
    lancePercentual: row.lancePercentual,
    status: ContemplacaoStatus[row.status],
    substituiContemplacaoId: row.substituiContemplacaoId ?? "",
    ordem: row.ordem,
    createTime: ts(row.createdAt),
    updateTime: ts(row.updatedAt),
  });
}
