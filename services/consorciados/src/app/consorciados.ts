// The consorciados use cases: records, consents, portability and erasure. They take and return
// domain types; routes.ts and mapping.ts speak protobuf, events/published.ts the integration events.
import {
  AlreadyExistsError,
  ConflictError,
  decodePageToken,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  type OwnerScope,
  page,
  type UnitOfWork,
} from "@consorcio/platform";
import { type InferEntity, LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import type { PiiVault } from "../crypto/vault.ts";
import {
  type Canal,
  type Consentimento,
  type ConsentimentoInput,
  type Finalidade,
  recordConsentimento,
} from "../domain/consentimento.ts";
import {
  anonymizationDue,
  applyMask,
  type Consorciado,
  type DadosPessoais,
  dadosViolations,
  documentoOf,
  nomeOf,
  nomePrefixes,
  normalizeNome,
  OWNER_UPDATABLE,
  STAFF_UPDATABLE,
  type Status,
} from "../domain/consorciado.ts";
import { normalizeDocumento } from "../domain/documentos.ts";
import { dataChangeRefusal, type StatusCommand, transition } from "../domain/status.ts";
import { publish } from "../events/published.ts";
import { ConsentimentoRow, ConsorciadoRow, ParticipacaoRow, SolicitacaoRow } from "../store/entities.ts";

type Row = InferEntity<typeof ConsorciadoRow>;
type ConsentimentoRowShape = InferEntity<typeof ConsentimentoRow>;

const DEFAULT_PAGE_SIZE = 50;
/** Anonymisations per transaction: a large backlog is done in several. */
export const ERASURE_BATCH = 500;

export class Consorciados {
  private readonly vault: PiiVault;

  constructor(vault: PiiVault) {
    this.vault = vault;
  }

  private read(row: Row): DadosPessoais | undefined {
    if (!row.dataKey || !row.dados) return undefined;
    return this.vault.openDados(row.id, this.vault.unwrap(row.id, row.dataKey), row.dados);
  }

  private write(row: Row, dados: DadosPessoais): void {
    if (!row.dataKey) throw new FailedPreconditionError("this consorciado's data was anonymised");
    row.dados = this.vault.sealDados(row.id, this.vault.unwrap(row.id, row.dataKey), dados);
    row.nomeIndex = nomePrefixes(nomeOf(dados)).map((prefix) => this.vault.blindIndex("nome", prefix));
  }

  /** The row as the use cases return it, its data opened. */
  private view(row: Row, dados: DadosPessoais | undefined = this.read(row)): Consorciado {
    return {
      id: row.id,
      tipo: row.tipo,
      status: row.status,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      version: row.version,
      anonymizationDueAt: row.anonymizationDueAt ?? null,
      dados,
    };
  }

  /** Applies a lifecycle command: refused ones fail, and what it emits is published. */
  private move(uow: UnitOfWork, row: Row, command: StatusCommand): boolean {
    const next = transition(row.status, command);
    if ("refused" in next) throw new FailedPreconditionError(next.refused);
    if (next.to === row.status) return false;
    row.status = next.to;
    publish(uow, row.id, next.emits);
    return true;
  }

  async load(em: EntityManager, id: string): Promise<Row> {
    const row = await em.findOne(ConsorciadoRow, { id });
    if (!row) throw new NotFoundError(`consorciado ${id} not found`);
    return row;
  }

  async create(uow: UnitOfWork, dados: DadosPessoais): Promise<Consorciado> {
    const violations = dadosViolations(dados);
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    const documentoHash = this.vault.blindIndex("documento", documentoOf(dados));
    if (await uow.em.findOne(ConsorciadoRow, { documentoHash })) {
      throw new AlreadyExistsError(
        `a consorciado with this ${dados.tipo === "FISICA" ? "CPF" : "CNPJ"} already exists`,
      );
    }
    const id = uuidv7();
    const { wrapped } = this.vault.newDataKey(id);
    const row = uow.em.create(ConsorciadoRow, {
      id,
      tipo: dados.tipo,
      status: "ATIVO",
      documentoHash,
      nomeIndex: [],
      dataKey: wrapped,
      dados: null,
      erasureRequestedAt: null,
      anonymizationDueAt: null,
      anonymizedAt: null,
    });
    this.write(row, dados);
    await uow.em.flush();
    publish(uow, id, [{ type: "ConsorciadoCriado", tipo: dados.tipo }]);
    return this.view(row, dados);
  }

  /** Owner scope is the platform's: the policy's owner_field is `id`. */
  async get(em: EntityManager, id: string): Promise<Consorciado> {
    return this.view(await this.load(em, id));
  }

  async list(
    em: EntityManager,
    input: {
      pageSize: number;
      pageToken: string;
      nomePrefix: string;
      documento: string;
      /** Any but RESTRITO when absent. */
      status: Status | undefined;
    },
  ): Promise<{ consorciados: Consorciado[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const after = decodePageToken(input.pageToken);
    const { status } = input;
    const where: Record<string, unknown> = {};
    if (after) where.id = { $gt: after };
    // Restricted records leave searches unless asked for by status (processing restricted, LGPD art. 18).
    where.status = status ?? { $ne: "RESTRITO" };
    if (input.documento)
      where.documentoHash = this.vault.blindIndex("documento", normalizeDocumento(input.documento));
    if (input.nomePrefix) {
      const prefix = normalizeNome(input.nomePrefix);
      where.nomeIndex = { $contains: [this.vault.blindIndex("nome", prefix)] };
    }
    const rows = await em.find(ConsorciadoRow, where, { orderBy: { id: "asc" }, limit: pageSize + 1 });
    const { items, nextPageToken } = page(rows, pageSize);
    return { consorciados: items.map((row) => this.view(row)), nextPageToken };
  }

  async update(
    uow: UnitOfWork,
    input: { id: string; version: number; dados: DadosPessoais },
    paths: readonly string[],
    owner: OwnerScope | undefined,
  ): Promise<Consorciado> {
    const allowed = owner ? OWNER_UPDATABLE : STAFF_UPDATABLE;
    const refused = paths.filter((path) => !allowed.has(path));
    if (paths.length === 0 || refused.length > 0) {
      throw new InvalidArgumentError([
        {
          field: "update_mask",
          ruleId: "update_mask.paths",
          message: `cannot update: ${refused.join(", ") || "(empty mask)"}`,
        },
      ]);
    }
    // That an owner updates only their own record is the platform's check (owner_field consorciado.id).
    const row = await this.load(uow.em, input.id);
    const refusal = dataChangeRefusal(row.status);
    if (refusal) throw new FailedPreconditionError(refusal);
    if (row.version !== input.version) {
      throw new ConflictError("consorciado changed since it was read: reload and retry");
    }
    const current = this.read(row);
    if (!current) throw new FailedPreconditionError("this consorciado's data was anonymised");
    // The kind of person never changes: the mask takes only the named fields.
    const next = applyMask(current, input.dados, paths);
    const violations = dadosViolations(next);
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    this.write(row, next);
    await uow.em.flush();
    publish(uow, row.id, [{ type: "ConsorciadoAtualizado", campos: [...paths] }]);
    return this.view(row, next);
  }

  async disable(uow: UnitOfWork, id: string): Promise<Consorciado> {
    const row = await this.load(uow.em, id);
    if (this.move(uow, row, "DISABLE")) await uow.em.flush();
    return this.view(row);
  }

  async recordConsent(
    uow: UnitOfWork,
    consorciadoId: string,
    input: ConsentimentoInput,
    actor: string,
  ): Promise<Consentimento> {
    const row = await this.load(uow.em, consorciadoId);
    const recorded = recordConsentimento(row.status, input);
    if ("refused" in recorded) throw new FailedPreconditionError(recorded.refused);
    const consent = uow.em.create(ConsentimentoRow, {
      id: uuidv7(),
      consorciadoId: row.id,
      finalidade: input.finalidade,
      concedido: input.concedido,
      canal: input.canal,
      registradoPor: actor,
    });
    await uow.em.flush();
    publish(uow, row.id, recorded.emits);
    return consentimentoOf(consent);
  }

  /** Oldest first: ids are UUIDv7, so id order is the order they were recorded in. */
  async listConsents(
    em: EntityManager,
    input: { consorciadoId: string; pageSize: number; pageToken: string },
  ): Promise<{ consentimentos: Consentimento[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const after = decodePageToken(input.pageToken);
    await this.load(em, input.consorciadoId);
    const rows = await em.find(
      ConsentimentoRow,
      { consorciadoId: input.consorciadoId, ...(after ? { id: { $gt: after } } : {}) },
      { orderBy: { id: "asc" }, limit: pageSize + 1 },
    );
    const { items, nextPageToken } = page(rows, pageSize);
    return { consentimentos: items.map(consentimentoOf), nextPageToken };
  }

  /** Everything held about the person, decrypted (portability, LGPD art. 18 V). The request is recorded. */
  async export(uow: UnitOfWork, consorciadoId: string, actor: string, now: Date): Promise<Uint8Array> {
    const { em } = uow;
    const row = await this.load(em, consorciadoId);
    const dados = this.read(row);
    const [consentimentos, solicitacoes, participacoes] = await Promise.all([
      em.find(ConsentimentoRow, { consorciadoId }, { orderBy: { createdAt: "asc" } }),
      em.find(SolicitacaoRow, { consorciadoId }, { orderBy: { requestedAt: "asc" } }),
      em.find(ParticipacaoRow, { consorciadoId }, { orderBy: { occurredAt: "asc" } }),
    ]);
    em.create(SolicitacaoRow, {
      id: uuidv7(),
      consorciadoId,
      tipo: "EXPORTACAO",
      solicitadoPor: actor,
      situacao: "EXECUTADA",
      completedAt: now,
    });
    const document = {
      formato: "consorcio.exportacao-dados-pessoais/v1",
      geradoEm: now.toISOString(),
      controlador: "administradora de consórcio",
      consorciado: {
        id: row.id,
        tipo: row.tipo,
        status: row.status,
        criadoEm: row.createdAt.toISOString(),
        atualizadoEm: row.updatedAt.toISOString(),
        eliminacaoSolicitadaEm: row.erasureRequestedAt?.toISOString() ?? null,
        anonimizacaoPrevistaPara: row.anonymizationDueAt?.toISOString() ?? null,
        anonimizadoEm: row.anonymizedAt?.toISOString() ?? null,
        dadosPessoais: dados ?? null,
      },
      consentimentos: consentimentos.map((c) => ({
        finalidade: c.finalidade,
        concedido: c.concedido,
        canal: c.canal,
        registradoPor: c.registradoPor,
        em: c.createdAt.toISOString(),
      })),
      solicitacoes: solicitacoes.map((s) => ({
        tipo: s.tipo,
        situacao: s.situacao,
        solicitadoPor: s.solicitadoPor,
        em: s.requestedAt.toISOString(),
        concluidaEm: s.completedAt?.toISOString() ?? null,
      })),
      participacoes: participacoes.map((p) => ({
        grupoId: p.grupoId,
        cota: p.cotaNumero,
        evento: p.evento,
        valorCentavos:
          p.valorCentavos === null || p.valorCentavos === undefined ? null : String(p.valorCentavos),
        em: p.occurredAt.toISOString(),
      })),
    };
    return new TextEncoder().encode(JSON.stringify(document, null, 2));
  }

  /** Restricts processing at once and schedules the shredding for when retention ends. */
  async requestErasure(
    uow: UnitOfWork,
    consorciadoId: string,
    actor: string,
    now: Date,
  ): Promise<Consorciado> {
    const { em } = uow;
    const row = await this.load(em, consorciadoId);
    if (row.status === "ANONIMIZADO") return this.view(row, undefined);
    if (!row.erasureRequestedAt) {
      const participacoes = await em.find(ParticipacaoRow, { consorciadoId });
      const closings = participacoes.map((p) => p.grupoEncerradoAt ?? null);
      row.erasureRequestedAt = now;
      // While a grupo is still running the contract is live: no due date until the last one closes.
      row.anonymizationDueAt = closings.includes(null)
        ? null
        : anonymizationDue(now, latest(closings.filter((d): d is Date => d !== null)));
      this.move(uow, row, "REQUEST_ERASURE");
      em.create(SolicitacaoRow, {
        id: uuidv7(),
        consorciadoId,
        tipo: "ELIMINACAO",
        solicitadoPor: actor,
        situacao: "AGENDADA",
        completedAt: null,
      });
      await em.flush();
    }
    return this.view(row);
  }

  /**
   * Shreds the data key of every person whose anonymisation is due, at most ERASURE_BATCH per
   * call; ids and financial history stay.
   */
  async anonymizeDue(uow: UnitOfWork, now: Date): Promise<number> {
    const { em } = uow;
    const due = await em.find(
      ConsorciadoRow,
      { anonymizationDueAt: { $lte: now }, anonymizedAt: null },
      // SKIP LOCKED: replicas running this at once share the work instead of colliding.
      {
        limit: ERASURE_BATCH,
        orderBy: { anonymizationDueAt: "asc" },
        lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE,
      },
    );
    for (const row of due) {
      row.dataKey = null;
      row.dados = null;
      row.documentoHash = null;
      row.nomeIndex = [];
      this.move(uow, row, "ANONYMIZE");
      row.anonymizedAt = now;
      await em.nativeUpdate(
        SolicitacaoRow,
        { consorciadoId: row.id, tipo: "ELIMINACAO", situacao: "AGENDADA" },
        { situacao: "CONCLUIDA", completedAt: now },
      );
    }
    await em.flush();
    return due.length;
  }
}

function latest(dates: readonly Date[]): Date | undefined {
  return dates.reduce<Date | undefined>((max, d) => (!max || d > max ? d : max), undefined);
}

function consentimentoOf(row: ConsentimentoRowShape): Consentimento {
  return {
    id: row.id,
    consorciadoId: row.consorciadoId,
    finalidade: row.finalidade as Finalidade,
    concedido: row.concedido,
    canal: row.canal as Canal,
    registradoPor: row.registradoPor,
    createdAt: row.createdAt,
  };
}
