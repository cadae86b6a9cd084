import { defineEntity, p } from "@mikro-orm/core";
import type { Tipo } from "../domain/parametro.ts";

export const ParametroRow = defineEntity({
  name: "ParametroRow",
  tableName: "parametro",
  properties: {
    key: p.string().primary(),
    tipo: p.string().$type<Tipo>(),
    /** The value as text; its meaning is the tipo's (domain/parametro.ts encodeValor). */
    valor: p.text(),
    description: p.text(),
    validFrom: p.datetime().nullable(),
    validUntil: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    updatedBy: p.string(),
    version: p.integer().version(),
  },
});

export const FeatureFlagRow = defineEntity({
  name: "FeatureFlagRow",
  tableName: "feature_flag",
  properties: {
    key: p.string().primary(),
    description: p.text(),
    enabled: p.boolean(),
    rolloutPercent: p.integer(),
    /** Role names (ROLE_ADMIN, …). */
    roles: p.array().$type<string[]>(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    updatedBy: p.string(),
    version: p.integer().version(),
  },
});

/** One revision of a month's value; a trigger refuses any change but `atual` and `first_use_at`. */
export const IndiceValorRow = defineEntity({
  name: "IndiceValorRow",
  tableName: "indice_valor",
  properties: {
    id: p.uuid().primary(),
    indice: p.string(),
    /** The reference month, "YYYY-MM". */
    referencia: p.string(),
    revisao: p.integer(),
    valorPercentual: p.text(),
    fonte: p.text(),
    motivo: p.text(),
    atual: p.boolean(),
    createdAt: p.datetime(),
    registradoPor: p.string(),
    firstUseAt: p.datetime().nullable(),
  },
});

/** Each use of a revision by a reajuste: reproducible, and what makes a correction loud. */
export const IndiceUsoRow = defineEntity({
  name: "IndiceUsoRow",
  tableName: "indice_uso",
  properties: {
    valorId: p.uuid().primary(),
    uso: p.string().primary(),
    usadoPor: p.string(),
    usedAt: p.datetime(),
  },
});

/**
 * Every committed change in commit order (seq is taken under a transaction-wide advisory lock):
 * what Watch streams and every replica catches up from.
 */
export const ChangeRow = defineEntity({
  name: "ChangeRow",
  tableName: "configuracao_change",
  properties: {
    seq: p.bigint("string").primary(),
    topic: p.string(),
    key: p.string(),
    /** ConfiguracaoChange, protobuf binary. */
    payload: p.blob(),
    createdAt: p.datetime(),
  },
});

export const entities = [ParametroRow, FeatureFlagRow, IndiceValorRow, IndiceUsoRow, ChangeRow];
