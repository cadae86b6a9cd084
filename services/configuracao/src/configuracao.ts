// The configuracao use cases: parameters, feature flags and index values, each change logged in
// commit order (Watch), published with its before and after (audit), and its cache entry dropped.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { evaluateFlag } from "@consorcio/domain/feature-flag.ts";
import type { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  type FeatureFlag,
  FeatureFlagSchema,
  type IndiceEconomico,
  type IndiceValor,
  IndiceValorSchema,
  type Parametro,
  ParametroSchema,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_pb.js";
import {
  type ConfiguracaoChange,
  ConfiguracaoChangeSchema,
  type ConfiguracaoSnapshot,
  ConfiguracaoSnapshotSchema,
  EvaluationReason,
  WatchTopic,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_service_pb.js";
import {
  FlagAlteradaSchema,
  IndiceRegistradoSchema,
  IndiceValorUsadoSchema,
  Operacao,
  ParametroAlteradoSchema,
} from "@consorcio/gen/consorcio/configuracao/v1/eventos_pb.js";
import type { Date as ProtoDate } from "@consorcio/gen/google/type/date_pb.js";
import {
  AlreadyExistsError,
  type Cache,
  type Clock,
  ConflictError,
  type Database,
  decodeCursor,
  encodeCursor,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  readThrough,
  type UnitOfWork,
} from "@consorcio/platform";
import { IsolationLevel, LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { correctionRefusal, type Indice, mesKey, normalizeVariacao } from "./domain/indice.ts";
import {
  encodeValor,
  FLAG_UPDATABLE,
  maskViolations,
  PARAMETRO_UPDATABLE,
  type Tipo,
  textViolations,
  validityViolations,
  valorViolations,
} from "./domain/parametro.ts";
import {
  dateOf,
  flagToMessage,
  indiceFromMessage,
  indiceToMessage,
  parametroToMessage,
  referenciaText,
  roleToName,
  tipoFromMessage,
  valorFromMessage,
  withVigencia,
} from "./mapping.ts";
import { ChangeRow, FeatureFlagRow, IndiceUsoRow, IndiceValorRow, ParametroRow } from "./store/entities.ts";

const DEFAULT_PAGE_SIZE = 100;
/** Key of the advisory lock that orders every change (any 64-bit number no one else uses). */
const CHANGE_LOCK = "7010000001";
const KEY_CURSOR = /^[a-z0-9_.]{1,128}$/;
const INDICE_CURSOR = /^\d{4}-\d{2}:\d{1,6}$/;

export const cacheKeys = {
  parametro: (key: string) => `parametro:${key}`,
  flag: (key: string) => `flag:${key}`,
  indice: (mes: string) => `indice:${mes}`,
  /** The entry a change makes stale. */
  of(change: ConfiguracaoChange): string {
    switch (change.topic) {
      case WatchTopic.PARAMETROS:
        return cacheKeys.parametro(change.key);
      case WatchTopic.FLAGS:
        return cacheKeys.flag(change.key);
      default:
        return cacheKeys.indice(change.key);
    }
  },
};

const codec = <T>(schema: Parameters<typeof toBinary>[0]) => ({
  encode: (value: T) => Buffer.from(toBinary(schema, value as never)).toString("base64"),
  decode: (text: string) => fromBinary(schema, Buffer.from(text, "base64")) as T,
});
const parametroCodec = codec<Parametro>(ParametroSchema);
const flagCodec = codec<FeatureFlag>(FeatureFlagSchema);
const indiceCodec = codec<IndiceValor>(IndiceValorSchema);

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** What a committed change leaves to do after the commit: drop its cache entry, wake the watchers. */
export interface Committed<T> {
  value: T;
  changes: ConfiguracaoChange[];
}

export class Configuracao {
  private readonly cache: Cache;
  private readonly clock: Clock;
  private readonly ttlSeconds: number;

  constructor(options: { cache: Cache; clock: Clock; ttlSeconds: number }) {
    this.cache = options.cache;
    this.clock = options.clock;
    this.ttlSeconds = options.ttlSeconds;
  }

  /** Logs a change in commit order; its seq is the configuration's new revision. */
  private async logChange(uow: UnitOfWork, change: ConfiguracaoChange): Promise<bigint> {
    // Held until commit: seqs are taken, and become visible, one transaction at a time.
    await uow.em.execute("select pg_advisory_xact_lock(?::bigint)", [CHANGE_LOCK]);
    const [row] = await uow.em.execute<{ seq: string }[]>(
      `insert into configuracao_change (seq, topic, key, payload, created_at)
       values (nextval('configuracao_change_seq'), ?, ?, ?, ?) returning seq`,
      [change.topic, change.key, Buffer.from(toBinary(ConfiguracaoChangeSchema, change)), this.clock.now()],
    );
    return BigInt(row?.seq ?? 0);
  }

  /** After commit (also on every replica, from the hub): the cache entry a change made stale. */
  async invalidate(changes: readonly ConfiguracaoChange[]): Promise<void> {
    if (changes.length > 0) await this.cache.del(...changes.map((change) => cacheKeys.of(change)));
  }

  // Parameters

  private async loadParametro(em: EntityManager, key: string) {
    const row = await em.findOne(ParametroRow, { key });
    if (!row) throw new NotFoundError(`parametro ${key} not found`);
    return row;
  }

  async getParametro(em: EntityManager, key: string): Promise<Parametro> {
    const now = this.clock.now();
    const cached = await readThrough(
      this.cache,
      cacheKeys.parametro(key),
      this.ttlSeconds,
      async () => {
        const row = await em.findOne(ParametroRow, { key });
        return row ? parametroToMessage(row, now) : undefined;
      },
      parametroCodec,
    );
    if (!cached) throw new NotFoundError(`parametro ${key} not found`);
    return withVigencia(cached, now);
  }

  async listParametros(
    em: EntityManager,
    input: { pageSize: number; pageToken: string; keyPrefix: string },
  ): Promise<{ parametros: Parametro[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const after = decodeCursor(input.pageToken, KEY_CURSOR);
    const where: Record<string, unknown> = {};
    const conditions: Record<string, unknown>[] = [];
    if (after) conditions.push({ key: { $gt: after } });
    if (input.keyPrefix) conditions.push({ key: { $like: `${escapeLike(input.keyPrefix)}%` } });
    if (conditions.length > 0) where.$and = conditions;
    const rows = await em.find(ParametroRow, where, { orderBy: { key: "asc" }, limit: pageSize + 1 });
    const now = this.clock.now();
    const items = rows.slice(0, pageSize);
    return {
      parametros: items.map((row) => parametroToMessage(row, now)),
      nextPageToken: rows.length > pageSize ? encodeCursor(items.at(-1)?.key) : "",
    };
  }

  async createParametro(uow: UnitOfWork, input: Parametro, actor: string): Promise<Committed<Parametro>> {
    const tipo = tipoFromMessage(input.tipo);
    const valor = valorFromMessage(input.valor);
    const validFrom = dateOf(input.validFrom);
    const validUntil = dateOf(input.validUntil);
    const violations = [
      ...valorViolations(tipo, valor),
      ...validityViolations(validFrom, validUntil),
      ...textViolations("parametro.description", input.description),
    ];
    if (violations.length > 0 || !tipo || !valor) throw new InvalidArgumentError(violations);
    if (await uow.em.findOne(ParametroRow, { key: input.key }))
      throw new AlreadyExistsError(`parametro ${input.key} already exists`);
    const now = this.clock.now();
    const row = uow.em.create(ParametroRow, {
      key: input.key,
      tipo,
      valor: encodeValor(valor),
      description: input.description,
      validFrom,
      validUntil,
      createdAt: now,
      updatedAt: now,
      updatedBy: actor,
    });
    await uow.em.flush();
    const depois = parametroToMessage(row, now);
    return this.parametroChanged(uow, Operacao.CRIADO, input.key, undefined, depois, actor);
  }

  async updateParametro(
    uow: UnitOfWork,
    input: Parametro,
    paths: readonly string[],
    actor: string,
  ): Promise<Committed<Parametro>> {
    const masked = maskViolations(paths, PARAMETRO_UPDATABLE);
    if (masked.length > 0) throw new InvalidArgumentError(masked);
    const row = await this.loadParametro(uow.em, input.key);
    if (row.version !== input.version)
      throw new ConflictError("parametro changed since it was read: reload and retry");
    const requestedTipo = tipoFromMessage(input.tipo);
    if (requestedTipo && requestedTipo !== row.tipo)
      throw new InvalidArgumentError([
        {
          field: "parametro.tipo",
          message: `the tipo of a parameter never changes (it is ${row.tipo})`,
          ruleId: "parametro.tipo.immutable",
        },
      ]);
    const now = this.clock.now();
    const antes = parametroToMessage(row, now);
    const has = (path: string) => paths.includes(path);
    const valor = has("valor") ? valorFromMessage(input.valor) : undefined;
    const validFrom = has("valid_from") ? dateOf(input.validFrom) : (row.validFrom ?? null);
    const validUntil = has("valid_until") ? dateOf(input.validUntil) : (row.validUntil ?? null);
    const violations = [
      ...(has("valor") ? valorViolations(row.tipo as Tipo, valor) : []),
      ...validityViolations(validFrom, validUntil),
      ...(has("description") ? textViolations("parametro.description", input.description) : []),
    ];
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    if (valor) row.valor = encodeValor(valor);
    if (has("description")) row.description = input.description;
    row.validFrom = validFrom;
    row.validUntil = validUntil;
    row.updatedAt = now;
    row.updatedBy = actor;
    await uow.em.flush();
    const depois = parametroToMessage(row, now);
    return this.parametroChanged(uow, Operacao.ALTERADO, row.key, antes, depois, actor);
  }

  async deleteParametro(
    uow: UnitOfWork,
    key: string,
    version: number,
    actor: string,
  ): Promise<Committed<undefined>> {
    const row = await this.loadParametro(uow.em, key);
    if (row.version !== version)
      throw new ConflictError("parametro changed since it was read: reload and retry");
    const antes = parametroToMessage(row, this.clock.now());
    uow.em.remove(row);
    await uow.em.flush();
    const { changes } = await this.parametroChanged(uow, Operacao.REMOVIDO, key, antes, undefined, actor);
    return { value: undefined, changes };
  }

  private async parametroChanged(
    uow: UnitOfWork,
    operacao: Operacao,
    key: string,
    antes: Parametro | undefined,
    depois: Parametro | undefined,
    actor: string,
  ): Promise<Committed<Parametro>> {
    const change = create(ConfiguracaoChangeSchema, {
      topic: WatchTopic.PARAMETROS,
      key,
      removed: !depois,
      ...(depois ? { item: { case: "parametro", value: depois } } : {}),
    });
    const revision = await this.logChange(uow, change);
    uow.publish(
      ParametroAlteradoSchema,
      create(ParametroAlteradoSchema, {
        key,
        operacao,
        ...(antes ? { antes } : {}),
        ...(depois ? { depois } : {}),
        alteradoPor: actor,
        revision,
        time: timestampFromDate(this.clock.now()),
      }),
    );
    return { value: depois as Parametro, changes: [change] };
  }

  // Feature flags

  private async loadFlag(em: EntityManager, key: string) {
    const row = await em.findOne(FeatureFlagRow, { key });
    if (!row) throw new NotFoundError(`feature flag ${key} not found`);
    return row;
  }

  async getFlag(em: EntityManager, key: string): Promise<FeatureFlag> {
    const flag = await readThrough(
      this.cache,
      cacheKeys.flag(key),
      this.ttlSeconds,
      async () => {
        const row = await em.findOne(FeatureFlagRow, { key });
        return row ? flagToMessage(row) : undefined;
      },
      flagCodec,
    );
    if (!flag) throw new NotFoundError(`feature flag ${key} not found`);
    return flag;
  }

  async listFlags(
    em: EntityManager,
    input: { pageSize: number; pageToken: string; keyPrefix: string },
  ): Promise<{ flags: FeatureFlag[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const after = decodeCursor(input.pageToken, KEY_CURSOR);
    const conditions: Record<string, unknown>[] = [];
    if (after) conditions.push({ key: { $gt: after } });
    if (input.keyPrefix) conditions.push({ key: { $like: `${escapeLike(input.keyPrefix)}%` } });
    const rows = await em.find(FeatureFlagRow, conditions.length > 0 ? { $and: conditions } : {}, {
      orderBy: { key: "asc" },
      limit: pageSize + 1,
    });
    const items = rows.slice(0, pageSize);
    return {
      flags: items.map(flagToMessage),
      nextPageToken: rows.length > pageSize ? encodeCursor(items.at(-1)?.key) : "",
    };
  }

  async createFlag(uow: UnitOfWork, input: FeatureFlag, actor: string): Promise<Committed<FeatureFlag>> {
    const violations = textViolations("flag.description", input.description);
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    if (await uow.em.findOne(FeatureFlagRow, { key: input.key }))
      throw new AlreadyExistsError(`feature flag ${input.key} already exists`);
    const now = this.clock.now();
    const row = uow.em.create(FeatureFlagRow, {
      key: input.key,
      description: input.description,
      enabled: input.enabled,
      rolloutPercent: input.rolloutPercent,
      roles: input.roles.map(roleToName),
      createdAt: now,
      updatedAt: now,
      updatedBy: actor,
    });
    await uow.em.flush();
    return this.flagChanged(uow, Operacao.CRIADO, input.key, undefined, flagToMessage(row), actor);
  }

  async updateFlag(
    uow: UnitOfWork,
    input: FeatureFlag,
    paths: readonly string[],
    actor: string,
  ): Promise<Committed<FeatureFlag>> {
    const violations = [
      ...maskViolations(paths, FLAG_UPDATABLE),
      ...(paths.includes("description") ? textViolations("flag.description", input.description) : []),
    ];
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    const row = await this.loadFlag(uow.em, input.key);
    if (row.version !== input.version)
      throw new ConflictError("feature flag changed since it was read: reload and retry");
    const antes = flagToMessage(row);
    if (paths.includes("description")) row.description = input.description;
    if (paths.includes("enabled")) row.enabled = input.enabled;
    if (paths.includes("rollout_percent")) row.rolloutPercent = input.rolloutPercent;
    if (paths.includes("roles")) row.roles = input.roles.map(roleToName);
    row.updatedAt = this.clock.now();
    row.updatedBy = actor;
    await uow.em.flush();
    return this.flagChanged(uow, Operacao.ALTERADO, row.key, antes, flagToMessage(row), actor);
  }

  async deleteFlag(
    uow: UnitOfWork,
    key: string,
    version: number,
    actor: string,
  ): Promise<Committed<undefined>> {
    const row = await this.loadFlag(uow.em, key);
    if (row.version !== version)
      throw new ConflictError("feature flag changed since it was read: reload and retry");
    const antes = flagToMessage(row);
    uow.em.remove(row);
    await uow.em.flush();
    const { changes } = await this.flagChanged(uow, Operacao.REMOVIDO, key, antes, undefined, actor);
    return { value: undefined, changes };
  }

  private async flagChanged(
    uow: UnitOfWork,
    operacao: Operacao,
    key: string,
    antes: FeatureFlag | undefined,
    depois: FeatureFlag | undefined,
    actor: string,
  ): Promise<Committed<FeatureFlag>> {
    const change = create(ConfiguracaoChangeSchema, {
      topic: WatchTopic.FLAGS,
      key,
      removed: !depois,
      ...(depois ? { item: { case: "flag", value: depois } } : {}),
    });
    const revision = await this.logChange(uow, change);
    uow.publish(
      FlagAlteradaSchema,
      create(FlagAlteradaSchema, {
        key,
        operacao,
        ...(antes ? { antes } : {}),
        ...(depois ? { depois } : {}),
        alteradoPor: actor,
        revision,
        time: timestampFromDate(this.clock.now()),
      }),
    );
    return { value: depois as FeatureFlag, changes: [change] };
  }

  async evaluateFlag(
    em: EntityManager,
    key: string,
    subject: string,
    roles: readonly Role[],
  ): Promise<{ enabled: boolean; reason: EvaluationReason; bucket: number; flagVersion: number }> {
    const flag = await this.getFlag(em, key);
    const answer = evaluateFlag(flag, subject, roles);
    return {
      enabled: answer.enabled,
      reason: EvaluationReason[answer.reason],
      bucket: answer.bucket,
      flagVersion: flag.version,
    };
  }

  // Index values

  async getIndice(em: EntityManager, indice: IndiceEconomico, referencia: ProtoDate): Promise<IndiceValor> {
    const name = indiceFromMessage(indice);
    const mes = referenciaText(referencia);
    const valor = await readThrough(
      this.cache,
      cacheKeys.indice(mesKey(name, referencia.year, referencia.month)),
      this.ttlSeconds,
      async () => {
        const row = await em.findOne(IndiceValorRow, { indice: name, referencia: mes, atual: true });
        return row ? indiceToMessage(row) : undefined;
      },
      indiceCodec,
    );
    if (!valor) throw new NotFoundError(`no ${name} value for ${mes}`);
    return valor;
  }

  async listIndices(
    em: EntityManager,
    input: { indice: IndiceEconomico; pageSize: number; pageToken: string; includeRevisions: boolean },
  ): Promise<{ valores: IndiceValor[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const cursor = decodeCursor(input.pageToken, INDICE_CURSOR);
    const where: Record<string, unknown> = { indice: indiceFromMessage(input.indice) };
    if (!input.includeRevisions) where.atual = true;
    if (cursor) {
      const [mes, revisao] = cursor.split(":");
      where.$or = [{ referencia: { $gt: mes } }, { referencia: mes, revisao: { $gt: Number(revisao) } }];
    }
    const rows = await em.find(IndiceValorRow, where, {
      orderBy: { referencia: "asc", revisao: "asc" },
      limit: pageSize + 1,
    });
    const items = rows.slice(0, pageSize);
    const last = items.at(-1);
    return {
      valores: items.map(indiceToMessage),
      nextPageToken: rows.length > pageSize && last ? encodeCursor(`${last.referencia}:${last.revisao}`) : "",
    };
  }

  private fonteViolations(fonte: string): ReturnType<typeof textViolations> {
    return textViolations("fonte", fonte);
  }

  async registerIndice(
    uow: UnitOfWork,
    input: { indice: IndiceEconomico; referencia: ProtoDate; valorPercentual: string; fonte: string },
    actor: string,
  ): Promise<Committed<IndiceValor>> {
    const violations = this.fonteViolations(input.fonte);
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    const indice = indiceFromMessage(input.indice);
    const referencia = referenciaText(input.referencia);
    if (await uow.em.findOne(IndiceValorRow, { indice, referencia }))
      throw new AlreadyExistsError(
        `${indice} ${referencia} already has a value: a different one is a correction (CorrectIndiceValor)`,
      );
    const row = uow.em.create(IndiceValorRow, {
      id: uuidv7(),
      indice,
      referencia,
      revisao: 1,
      valorPercentual: normalizeVariacao(input.valorPercentual),
      fonte: input.fonte,
      motivo: "",
      atual: true,
      createdAt: this.clock.now(),
      registradoPor: actor,
      firstUseAt: null,
    });
    await uow.em.flush();
    return this.indiceChanged(uow, indice, undefined, indiceToMessage(row), "", actor);
  }

  async correctIndice(
    uow: UnitOfWork,
    input: {
      indice: IndiceEconomico;
      referencia: ProtoDate;
      valorPercentual: string;
      fonte: string;
      motivo: string;
      revisao: number;
      corrigeValorUsado: boolean;
    },
    actor: string,
  ): Promise<Committed<IndiceValor>> {
    const violations = [...this.fonteViolations(input.fonte), ...textViolations("motivo", input.motivo)];
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    const indice = indiceFromMessage(input.indice);
    const referencia = referenciaText(input.referencia);
    // Locked: a concurrent correction or use of this month waits for this one.
    const current = await uow.em.findOne(
      IndiceValorRow,
      { indice, referencia, atual: true },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!current) throw new NotFoundError(`no ${indice} value for ${referencia} to correct`);
    const refusal = correctionRefusal(
      {
        revisao: current.revisao,
        valorPercentual: current.valorPercentual,
        fonte: current.fonte,
        usado: !!current.firstUseAt,
      },
      input,
    );
    if (refusal?.kind === "stale") throw new ConflictError(refusal.message);
    if (refusal?.kind === "used") throw new FailedPreconditionError(refusal.message);
    if (refusal?.kind === "unchanged")
      throw new InvalidArgumentError([
        { field: "valor_percentual", message: refusal.message, ruleId: "correction.unchanged" },
      ]);
    const anterior = indiceToMessage(current);
    current.atual = false;
    await uow.em.flush();
    const row = uow.em.create(IndiceValorRow, {
      id: uuidv7(),
      indice,
      referencia,
      revisao: current.revisao + 1,
      valorPercentual: normalizeVariacao(input.valorPercentual),
      fonte: input.fonte,
      motivo: input.motivo,
      atual: true,
      createdAt: this.clock.now(),
      registradoPor: actor,
      firstUseAt: null,
    });
    await uow.em.flush();
    anterior.atual = false;
    return this.indiceChanged(uow, indice, anterior, indiceToMessage(row), input.motivo, actor);
  }

  private async indiceChanged(
    uow: UnitOfWork,
    indice: Indice,
    anterior: IndiceValor | undefined,
    atual: IndiceValor,
    motivo: string,
    actor: string,
  ): Promise<Committed<IndiceValor>> {
    const change = this.indiceChange(indice, atual);
    const revision = await this.logChange(uow, change);
    uow.publish(
      IndiceRegistradoSchema,
      create(IndiceRegistradoSchema, {
        ...(anterior ? { anterior } : {}),
        atual,
        motivo,
        anteriorUsado: anterior?.usado ?? false,
        registradoPor: actor,
        revision,
        time: timestampFromDate(this.clock.now()),
      }),
    );
    return { value: atual, changes: [change] };
  }

  private indiceChange(indice: Indice, valor: IndiceValor): ConfiguracaoChange {
    return create(ConfiguracaoChangeSchema, {
      topic: WatchTopic.INDICES,
      key: mesKey(indice, valor.referencia?.year ?? 0, valor.referencia?.month ?? 0),
      item: { case: "indiceValor", value: valor },
    });
  }

  async markIndiceUsado(
    uow: UnitOfWork,
    input: { indice: IndiceEconomico; referencia: ProtoDate; uso: string },
    actor: string,
  ): Promise<Committed<IndiceValor>> {
    const indice = indiceFromMessage(input.indice);
    const referencia = referenciaText(input.referencia);
    const row = await uow.em.findOne(
      IndiceValorRow,
      { indice, referencia, atual: true },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!row) throw new NotFoundError(`no ${indice} value for ${referencia}`);
    const inserted = await uow.em.execute<unknown[]>(
      `insert into indice_uso (valor_id, uso, usado_por, used_at) values (?, ?, ?, ?)
       on conflict do nothing returning uso`,
      [row.id, input.uso, actor, this.clock.now()],
    );
    if (inserted.length === 0) return { value: indiceToMessage(row), changes: [] };
    const changes: ConfiguracaoChange[] = [];
    if (!row.firstUseAt) {
      row.firstUseAt = this.clock.now();
      await uow.em.flush();
      const change = this.indiceChange(indice, indiceToMessage(row));
      await this.logChange(uow, change);
      changes.push(change);
    }
    const valor = indiceToMessage(row);
    uow.publish(
      IndiceValorUsadoSchema,
      create(IndiceValorUsadoSchema, {
        valor,
        uso: input.uso,
        usadoPor: actor,
        time: timestampFromDate(this.clock.now()),
      }),
    );
    return { value: valor, changes };
  }

  /** How many uses a revision has (tests, reports). */
  async usesOf(em: EntityManager, valorId: string): Promise<number> {
    return em.count(IndiceUsoRow, { valorId });
  }

  // Watch

  /**
   * Everything current on the topics and the revision it is at, read in one repeatable-read
   * transaction: changes commit one at a time in seq order, so the snapshot holds exactly the
   * changes up to that revision.
   */
  async snapshot(
    db: Database,
    topics: ReadonlySet<WatchTopic>,
  ): Promise<{ revision: bigint; snapshot: ConfiguracaoSnapshot }> {
    const all = topics.size === 0;
    const now = this.clock.now();
    return db.fork().transactional(
      async (em) => {
        const [head] = await em.execute<{ seq: string | null }[]>(
          "select max(seq) as seq from configuracao_change",
        );
        const parametros =
          all || topics.has(WatchTopic.PARAMETROS)
            ? (await em.find(ParametroRow, {}, { orderBy: { key: "asc" } })).map((row) =>
                parametroToMessage(row, now),
              )
            : [];
        const flags =
          all || topics.has(WatchTopic.FLAGS)
            ? (await em.find(FeatureFlagRow, {}, { orderBy: { key: "asc" } })).map(flagToMessage)
            : [];
        const indiceValores =
          all || topics.has(WatchTopic.INDICES)
            ? (
                await em.find(
                  IndiceValorRow,
                  { atual: true },
                  { orderBy: { indice: "asc", referencia: "asc" } },
                )
              ).map(indiceToMessage)
            : [];
        return {
          revision: BigInt(head?.seq ?? 0),
          snapshot: create(ConfiguracaoSnapshotSchema, { parametros, flags, indiceValores }),
        };
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
  }

  /** Rows of the change log (tests). */
  async changeCount(em: EntityManager): Promise<number> {
    return em.count(ChangeRow, {});
  }
}
