import { defineEntity, p } from "@mikro-orm/core";
import type { GrupoStatus } from "../domain/ciclo.ts";
import type { Causa, Situacao } from "../domain/cota.ts";

/** Parameters as JSON (the preço as a decimal string); the columns are what queries and locks use. */
export const GrupoRow = defineEntity({
  name: "GrupoRow",
  tableName: "grupo",
  properties: {
    id: p.uuid().primary(),
    codigo: p.string().unique(),
    segmento: p.string(),
    status: p.string().$type<GrupoStatus>(),
    quantidadeCotas: p.integer(),
    /** Cotas holding a number (not CANCELADA): kept with each adesão and withdrawal. */
    cotasOcupadas: p.integer(),
    parametros: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    ativadoAt: p.datetime().nullable(),
    encerramentoInicioAt: p.datetime().nullable(),
    encerradoAt: p.datetime().nullable(),
    version: p.integer().version(),
  },
});

export const CotaRow = defineEntity({
  name: "CotaRow",
  tableName: "cota",
  properties: {
    id: p.uuid().primary(),
    grupoId: p.uuid(),
    numero: p.integer(),
    consorciadoId: p.uuid(),
    situacao: p.string().$type<Situacao>(),
    contemplada: p.boolean(),
    contemplacaoId: p.string().nullable(),
    /** Civil date of adesão (America/Sao_Paulo), YYYY-MM-DD. */
    dataAdesao: p.string(),
    adesaoAt: p.datetime(),
    canceladaAt: p.datetime().nullable(),
    updatedAt: p.datetime(),
    version: p.integer().version(),
  },
});

/** Append-only: adesão, every change of situation and every cessão of a cota, in order. */
export const CotaHistoricoRow = defineEntity({
  name: "CotaHistoricoRow",
  tableName: "cota_historico",
  properties: {
    id: p.uuid().primary(),
    cotaId: p.uuid(),
    sequencia: p.integer(),
    causa: p.string().$type<Causa>(),
    situacaoAnterior: p.string().$type<Situacao>().nullable(),
    situacao: p.string().$type<Situacao>(),
    contemplada: p.boolean(),
    consorciadoAnteriorId: p.uuid().nullable(),
    consorciadoId: p.uuid(),
    origemId: p.string(),
    actor: p.string(),
    occurredAt: p.datetime(),
  },
});

export const entities = [GrupoRow, CotaRow, CotaHistoricoRow];
