// Rows and domain values to and from the contract's messages.
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  type FeatureFlag,
  FeatureFlagSchema,
  IndiceEconomico,
  type IndiceValor,
  IndiceValorSchema,
  type Parametro,
  ParametroSchema,
  ParametroTipo,
  type ParametroValor,
  ParametroValorSchema,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_pb.js";
import { DateSchema, type Date as ProtoDate } from "@consorcio/gen/google/type/date_pb.js";
import type { Indice } from "./domain/indice.ts";
import { decodeValor, type Tipo, type Valor, vigente } from "./domain/parametro.ts";

type Row<T> = T;

export interface ParametroData {
  key: string;
  tipo: Tipo;
  valor: string;
  description: string;
  validFrom?: Date | null | undefined;
  validUntil?: Date | null | undefined;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string;
  version: number;
}

export interface FlagData {
  key: string;
  description: string;
  enabled: boolean;
  rolloutPercent: number;
  roles: string[];
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string;
  version: number;
}

export interface IndiceData {
  id: string;
  indice: string;
  referencia: string;
  revisao: number;
  valorPercentual: string;
  fonte: string;
  motivo: string;
  atual: boolean;
  createdAt: Date;
  registradoPor: string;
  firstUseAt?: Date | null | undefined;
}

const TIPOS: Record<number, Tipo> = {
  [ParametroTipo.BOOL]: "BOOL",
  [ParametroTipo.INTEGER]: "INTEGER",
  [ParametroTipo.DECIMAL]: "DECIMAL",
  [ParametroTipo.TEXT]: "TEXT",
};

export function tipoFromMessage(tipo: ParametroTipo): Tipo | undefined {
  return TIPOS[tipo];
}

export function tipoToMessage(tipo: Tipo): ParametroTipo {
  return ParametroTipo[tipo];
}

export function valorFromMessage(valor: ParametroValor | undefined): Valor | undefined {
  const kind = valor?.kind;
  switch (kind?.case) {
    case "boolValue":
      return { tipo: "BOOL", value: kind.value };
    case "integerValue":
      return { tipo: "INTEGER", value: kind.value };
    case "decimalValue":
      return { tipo: "DECIMAL", value: kind.value };
    case "textValue":
      return { tipo: "TEXT", value: kind.value };
    default:
      return undefined;
  }
}

export function valorToMessage(valor: Valor): ParametroValor {
  switch (valor.tipo) {
    case "BOOL":
      return create(ParametroValorSchema, { kind: { case: "boolValue", value: valor.value } });
    case "INTEGER":
      return create(ParametroValorSchema, { kind: { case: "integerValue", value: valor.value } });
    case "DECIMAL":
      return create(ParametroValorSchema, { kind: { case: "decimalValue", value: valor.value } });
    case "TEXT":
      return create(ParametroValorSchema, { kind: { case: "textValue", value: valor.value } });
  }
}

export const dateOf = (timestamp: Timestamp | undefined): Date | null =>
  timestamp ? timestampDate(timestamp) : null;

/** `vigente` is the only field that depends on the time of the read. */
export function parametroToMessage(row: Row<ParametroData>, now: Date): Parametro {
  return create(ParametroSchema, {
    key: row.key,
    tipo: tipoToMessage(row.tipo),
    valor: valorToMessage(decodeValor(row.tipo, row.valor)),
    description: row.description,
    ...(row.validFrom ? { validFrom: timestampFromDate(row.validFrom) } : {}),
    ...(row.validUntil ? { validUntil: timestampFromDate(row.validUntil) } : {}),
    vigente: vigente(row.validFrom ?? null, row.validUntil ?? null, now),
    createTime: timestampFromDate(row.createdAt),
    updateTime: timestampFromDate(row.updatedAt),
    updatedBy: row.updatedBy,
    version: row.version,
  });
}

/** The same parameter, in force or not at `now`. */
export function withVigencia(parametro: Parametro, now: Date): Parametro {
  return {
    ...parametro,
    vigente: vigente(dateOf(parametro.validFrom), dateOf(parametro.validUntil), now),
  };
}

export function roleFromName(name: string): Role {
  return (Role as unknown as Record<string, Role>)[name] ?? Role.UNSPECIFIED;
}

export function roleToName(role: Role): string {
  return Role[role] ?? "UNSPECIFIED";
}

export function flagToMessage(row: Row<FlagData>): FeatureFlag {
  return create(FeatureFlagSchema, {
    key: row.key,
    description: row.description,
    enabled: row.enabled,
    rolloutPercent: row.rolloutPercent,
    roles: row.roles.map(roleFromName),
    createTime: timestampFromDate(row.createdAt),
    updateTime: timestampFromDate(row.updatedAt),
    updatedBy: row.updatedBy,
    version: row.version,
  });
}

const INDICES: Record<number, Indice> = {
  [IndiceEconomico.INCC]: "INCC",
  [IndiceEconomico.IPCA]: "IPCA",
  [IndiceEconomico.IGPM]: "IGPM",
};

export function indiceFromMessage(indice: IndiceEconomico): Indice {
  const name = INDICES[indice];
  if (!name) throw new RangeError(`no index ${indice}`);
  return name;
}

/** "2027-03" of a reference month. */
export function referenciaText(date: ProtoDate | undefined): string {
  const year = date?.year ?? 0;
  const month = date?.month ?? 0;
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}`;
}

export function referenciaDate(text: string): ProtoDate {
  const [year, month] = text.split("-").map(Number);
  return create(DateSchema, { year: year ?? 0, month: month ?? 0, day: 1 });
}

export function indiceToMessage(row: Row<IndiceData>): IndiceValor {
  return create(IndiceValorSchema, {
    id: row.id,
    indice: IndiceEconomico[row.indice as Indice],
    referencia: referenciaDate(row.referencia),
    valorPercentual: row.valorPercentual,
    fonte: row.fonte,
    revisao: row.revisao,
    motivo: row.motivo,
    atual: row.atual,
    usado: !!row.firstUseAt,
    ...(row.firstUseAt ? { firstUseTime: timestampFromDate(row.firstUseAt) } : {}),
    createTime: timestampFromDate(row.createdAt),
    registradoPor: row.registradoPor,
  });
}
