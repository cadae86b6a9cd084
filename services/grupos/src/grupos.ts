// The grupo use cases: parameters, lifecycle, cronograma and vagas.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  GrupoAtivadoSchema,
  GrupoAtualizadoSchema,
  GrupoCriadoSchema,
  GrupoEncerradoSchema,
  GrupoEncerramentoIniciadoSchema,
} from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import { type Grupo, type GrupoStatus, Segmento } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import {
  AlreadyExistsError,
  ConflictError,
  decodeCursor,
  decodePageToken,
  encodeCursor,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  page,
  type UnitOfWork,
} from "@consorcio/platform";
import { LockMode } from "@mikro-orm/core";
import { type EntityManager, raw } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { type PassoCiclo, passoCiclo, updateRecusa } from "./domain/ciclo.ts";
import { cronograma, type DataCronograma } from "./domain/cronograma.ts";
import { dataCivil } from "./domain/datas.ts";
import {
  PATHS,
  type Parametros,
  type ParametrosEntrada,
  parametrosViolations,
  withDefaults,
} from "./domain/parametros.ts";
import {
  enumName,
  type GrupoEntity,
  grupoToMessage,
  parametrosFromJson,
  parametrosFromMessage,
  parametrosToJson,
  statusFromMessage,
} from "./mapping.ts";
import { GrupoRow } from "./store/entities.ts";

const DEFAULT_PAGE_SIZE = 50;

export class Grupos {
  async load(em: EntityManager, id: string, lock = false): Promise<GrupoEntity> {
    const row = await em.findOne(GrupoRow, { id }, lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {});
    if (!row) throw new NotFoundError(`grupo ${id} not found`);
    return row;
  }

  async create(uow: UnitOfWork, message: Grupo, now: Date): Promise<Grupo> {
    const parametros = withDefaults(parametrosFromMessage(message));
    const violations = parametrosViolations(parametros, dataCivil(now));
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    if (await uow.em.findOne(GrupoRow, { codigo: parametros.codigo }))
      throw new AlreadyExistsError(`a grupo with codigo ${parametros.codigo} already exists`);
    const row = uow.em.create(GrupoRow, {
      id: uuidv7(),
      codigo: parametros.codigo,
      segmento: parametros.segmento,
      status: "EM_FORMACAO",
      quantidadeCotas: parametros.quantidadeCotas,
      cotasOcupadas: 0,
      parametros: parametrosToJson(parametros),
      createdAt: now,
      updatedAt: now,
      ativadoAt: null,
      encerramentoInicioAt: null,
      encerradoAt: null,
    });
    await uow.em.flush();
    const grupo = grupoToMessage(row);
    uow.publish(GrupoCriadoSchema, create(GrupoCriadoSchema, { grupoId: row.id, grupo }));
    return grupo;
  }

  async get(em: EntityManager, id: string): Promise<Grupo> {
    return grupoToMessage(await this.load(em, id));
  }

  /** Newest first (ids are UUIDv7). */
  async list(
    em: EntityManager,
    input: {
      pageSize: number;
      pageToken: string;
      status: GrupoStatus;
      segmento: Segmento;
      comVagas: boolean;
    },
  ): Promise<{ grupos: Grupo[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const before = decodePageToken(input.pageToken);
    const where: Record<string, unknown> = {};
    if (before) where.id = { $lt: before };
    const status = statusFromMessage(input.status);
    if (status) where.status = status;
    const segmento = enumName(Segmento, input.segmento);
    if (segmento) where.segmento = segmento;
    if (input.comVagas) where[raw("(cotas_ocupadas < quantidade_cotas)") as unknown as string] = [];
    const rows = await em.find(GrupoRow, where, { orderBy: { id: "desc" }, limit: pageSize + 1 });
    const { items, nextPageToken } = page(rows, pageSize);
    return { grupos: items.map(grupoToMessage), nextPageToken };
  }

  async update(uow: UnitOfWork, message: Grupo, paths: readonly string[], now: Date): Promise<Grupo> {
    const unknown = paths.filter((path) => !(path in PATHS));
    if (paths.length === 0 || unknown.length > 0)
      throw new InvalidArgumentError([
        {
          field: "update_mask",
          ruleId: "update_mask.paths",
          message: `cannot update: ${unknown.join(", ") || "(empty mask)"}`,
        },
      ]);
    const row = await this.load(uow.em, message.id, true);
    if (row.version !== message.version)
      throw new ConflictError("grupo changed since it was read: reload and retry");
    const refusal = updateRecusa(row.status, paths);
    if (refusal) throw new FailedPreconditionError(refusal);
    const current = parametrosFromJson(row.parametros);
    const incoming = parametrosFromMessage(message);
    const merged: ParametrosEntrada = structuredClone(current);
    for (const path of paths) {
      if (path.startsWith("bem.")) {
        const key = (
          {
            "bem.descricao": "descricao",
            "bem.codigo": "codigo",
            "bem.preco_centavos": "precoCentavos",
          } as const
        )[path as "bem.descricao"];
        (merged.bem as Record<string, unknown>)[key] = incoming.bem[key];
      } else {
        const key = PATHS[path as keyof typeof PATHS];
        (merged as Record<string, unknown>)[key] = incoming[key];
      }
    }
    const next = withDefaults(merged);
    // A schedule changed now cannot start in the past; one kept stays as it was agreed.
    const violations = parametrosViolations(
      next,
      paths.includes("primeira_assembleia") ? dataCivil(now) : undefined,
    );
    const [maior] = await uow.em.execute<{ numero: number | null }[]>(
      "select max(numero) as numero from cota where grupo_id = ? and situacao <> 'CANCELADA'",
      [row.id],
    );
    if (maior?.numero && next.quantidadeCotas < maior.numero)
      violations.push({
        field: "grupo.quantidade_cotas",
        ruleId: "quantidade_cotas.taken",
        message: `cota ${maior.numero} is taken`,
      });
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    if (next.codigo !== current.codigo && (await uow.em.findOne(GrupoRow, { codigo: next.codigo })))
      throw new AlreadyExistsError(`a grupo with codigo ${next.codigo} already exists`);
    row.parametros = parametrosToJson(next);
    row.codigo = next.codigo;
    row.segmento = next.segmento;
    row.quantidadeCotas = next.quantidadeCotas;
    row.updatedAt = now;
    await uow.em.flush();
    const grupo = grupoToMessage(row);
    uow.publish(
      GrupoAtualizadoSchema,
      create(GrupoAtualizadoSchema, { grupoId: row.id, campos: [...paths], grupo }),
    );
    return grupo;
  }

  /** One step of the lifecycle, as its custom method. */
  async passo(uow: UnitOfWork, id: string, passo: PassoCiclo, version: number, now: Date): Promise<Grupo> {
    const row = await this.load(uow.em, id, true);
    if (version > 0 && row.version !== version)
      throw new ConflictError("grupo changed since it was read: reload and retry");
    const datas = cronograma(parametrosFromJson(row.parametros));
    const result = passoCiclo(
      { status: row.status, datas, cotasOcupadas: row.cotasOcupadas },
      passo,
      dataCivil(now),
    );
    if ("recusa" in result) throw new FailedPreconditionError(result.recusa);
    row.status = result.status;
    row.updatedAt = now;
    const time = timestampFromDate(now);
    if (passo === "ATIVAR") row.ativadoAt = now;
    if (passo === "INICIAR_ENCERRAMENTO") row.encerramentoInicioAt = now;
    if (passo === "ENCERRAR") row.encerradoAt = now;
    await uow.em.flush();
    const grupo = grupoToMessage(row);
    if (passo === "ATIVAR")
      uow.publish(GrupoAtivadoSchema, create(GrupoAtivadoSchema, { grupoId: id, grupo, ativacaoTime: time }));
    if (passo === "INICIAR_ENCERRAMENTO")
      uow.publish(
        GrupoEncerramentoIniciadoSchema,
        create(GrupoEncerramentoIniciadoSchema, { grupoId: id, encerramentoInicioTime: time }),
      );
    if (passo === "ENCERRAR")
      uow.publish(
        GrupoEncerradoSchema,
        create(GrupoEncerradoSchema, { grupoId: id, codigo: row.codigo, encerramentoTime: time }),
      );
    return grupo;
  }

  async cronograma(em: EntityManager, id: string): Promise<DataCronograma[]> {
    return cronograma(this.parametros(await this.load(em, id)));
  }

  parametros(row: GrupoEntity): Parametros {
    return parametrosFromJson(row.parametros);
  }

  /** Free numbers, ascending; the page token is the last number returned. */
  async vagas(
    em: EntityManager,
    id: string,
    input: { pageSize: number; pageToken: string },
  ): Promise<{ numeros: number[]; totalVagas: number; nextPageToken: string }> {
    const row = await this.load(em, id);
    const pageSize = input.pageSize || 1000;
    const after = Number(decodeCursor(input.pageToken, /^[0-9]{1,5}$/) ?? "0");
    const free = await em.execute<{ n: number }[]>(
      `select n from generate_series(?::int, ?::int) n
       where not exists (select 1 from cota c where c.grupo_id = ? and c.numero = n and c.situacao <> 'CANCELADA')
       order by n limit ?`,
      [after + 1, row.quantidadeCotas, id, pageSize + 1],
    );
    const numeros = free.map((r) => Number(r.n));
    const more = numeros.length > pageSize;
    const pageNumbers = numeros.slice(0, pageSize);
    return {
      numeros: pageNumbers,
      totalVagas: row.quantidadeCotas - row.cotasOcupadas,
      nextPageToken: more ? encodeCursor(String(pageNumbers.at(-1))) : "",
    };
  }
}
