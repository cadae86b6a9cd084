// The consorciados use cases: records, consents, portability and erasure.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Canal,
  type Consentimento,
  ConsentimentoAlteradoSchema,
  ConsentimentoSchema,
  type Consorciado,
  ConsorciadoAtualizadoSchema,
  ConsorciadoCriadoSchema,
  type ConsorciadoStatus,
  DadosAnonimizadosSchema,
  Finalidade,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
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
import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import {
  anonymizationDue,
  type DadosPessoais,
  dadosViolations,
  documentoOf,
  nomeOf,
  nomePrefixes,
  normalizeNome,
  OWNER_UPDATABLE,
  STAFF_UPDATABLE,
} from "./domain/consorciado.ts";
import { normalizeDocumento } from "./domain/documentos.ts";
import { dadosFromMessage, type Row, statusFromMessage, toMessage } from "./mapping.ts";
import { ConsentimentoRow, ConsorciadoRow, ParticipacaoRow, SolicitacaoRow } from "./store/entities.ts";
import type { PiiVault } from "./store/vault.ts";

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

  async load(em: EntityManager, id: string): Promise<Row> {
    const row = await em.findOne(ConsorciadoRow, { id });
    if (!row) throw new NotFoundError(`consorciado ${id} not found`);
    return row;
  }

  async create(uow: UnitOfWork, message: Consorciado): Promise<Consorciado> {
    const dados = dadosFromMessage(message);
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
    uow.publish(
      ConsorciadoCriadoSchema,
      create(ConsorciadoCriadoSchema, { consorciadoId: id, tipo: message.tipo }),
    );
    return toMessage(row, dados);
  }

  /** Owner scope is the platform's: the policy's owner_field is `id`. */
  async get(em: EntityManager, id: string): Promise<Consorciado> {
    const row = await this.load(em, id);
    return toMessage(row, this.read(row));
  }

  async list(
    em: EntityManager,
    input: {
      pageSize: number;
      pageToken: string;
      nomePrefix: string;
      documento: string;
      status: ConsorciadoStatus;
    },
  ): Promise<{ consorciados: Consorciado[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const after = decodePageToken(input.pageToken);
    const status = statusFromMessage(input.status);
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
    return { consorciados: items.map((row) => toMessage(row, this.read(row))), nextPageToken };
  }

  async update(
    uow: UnitOfWork,
    message: Consorciado,
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
    const row = await this.load(uow.em, message.id);
    if (row.status === "RESTRITO" || row.status === "ANONIMIZADO") {
      throw new FailedPreconditionError(`processing of this consorciado is ${row.status.toLowerCase()}`);
    }
    if (row.version !== message.version) {
      throw new ConflictError("consorciado changed since it was read: reload and retry");
    }
    const current = this.read(row);
    if (!current) throw new FailedPreconditionError("this consorciado's data was anonymised");
    const incoming = dadosFromMessage({ ...message, tipo: row.tipo === "JURIDICA" ? 2 : 1 });
    const next = applyMask(current, incoming, paths);
    const violations = dadosViolations(next);
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    this.write(row, next);
    await uow.em.flush();
    uow.publish(
      ConsorciadoAtualizadoSchema,
      create(ConsorciadoAtualizadoSchema, { consorciadoId: row.id, campos: [...paths] }),
    );
    return toMessage(row, next);
  }

  async disable(uow: UnitOfWork, id: string): Promise<Consorciado> {
    const row = await this.load(uow.em, id);
    if (row.status === "ATIVO") {
      row.status = "INATIVO";
      await uow.em.flush();
      uow.publish(
        ConsorciadoAtualizadoSchema,
        create(ConsorciadoAtualizadoSchema, { consorciadoId: id, campos: ["status"], status: 2 }),
      );
    }
    return toMessage(row, this.read(row));
  }

  async recordConsent(
    uow: UnitOfWork,
    input: { consorciadoId: string; finalidade: Finalidade; concedido: boolean; canal: Canal },
    actor: string,
  ): Promise<Consentimento> {
    const row = await this.load(uow.em, input.consorciadoId);
    if (row.status === "ANONIMIZADO")
      throw new FailedPreconditionError("this consorciado's data was anonymised");
    const consent = uow.em.create(ConsentimentoRow, {
      id: uuidv7(),
      consorciadoId: row.id,
      finalidade: Finalidade[input.finalidade],
      concedido: input.concedido,
      canal: Canal[input.canal],
      registradoPor: actor,
    });
    await uow.em.flush();
    uow.publish(ConsentimentoAlteradoSchema, create(ConsentimentoAlteradoSchema, input));
    return consentToMessage(consent);
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
    return { consentimentos: items.map(consentToMessage), nextPageToken };
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
    if (row.status === "ANONIMIZADO") return toMessage(row, undefined);
    if (!row.erasureRequestedAt) {
      const participacoes = await em.find(ParticipacaoRow, { consorciadoId });
      const closings = participacoes.map((p) => p.grupoEncerradoAt ?? null);
      row.erasureRequestedAt = now;
      // While a grupo is still running the contract is live: no due date until the last one closes.
      row.anonymizationDueAt = closings.includes(null)
        ? null
        : anonymizationDue(now, latest(closings.filter((d): d is Date => d !== null)));
      row.status = "RESTRITO";
      em.create(SolicitacaoRow, {
        id: uuidv7(),
        consorciadoId,
        tipo: "ELIMINACAO",
        solicitadoPor: actor,
        situacao: "AGENDADA",
        completedAt: null,
      });
      await em.flush();
      uow.publish(
        ConsorciadoAtualizadoSchema,
        create(ConsorciadoAtualizadoSchema, { consorciadoId, campos: ["status"], status: 3 }),
      );
    }
    return toMessage(row, this.read(row));
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
      row.status = "ANONIMIZADO";
      row.anonymizedAt = now;
      await em.nativeUpdate(
        SolicitacaoRow,
        { consorciadoId: row.id, tipo: "ELIMINACAO", situacao: "AGENDADA" },
        { situacao: "CONCLUIDA", completedAt: now },
      );
      uow.publish(DadosAnonimizadosSchema, create(DadosAnonimizadosSchema, { consorciadoId: row.id }));
    }
    await em.flush();
    return due.length;
  }
}

function latest(dates: readonly Date[]): Date | undefined {
  return dates.reduce<Date | undefined>((max, d) => (!max || d > max ? d : max), undefined);
}

function consentToMessage(
  row: InstanceType<typeof ConsentimentoRow.class> | Record<string, unknown>,
): Consentimento {
  const c = row as {
    id: string;
    consorciadoId: string;
    finalidade: string;
    concedido: boolean;
    canal: string;
    createdAt: Date;
    registradoPor: string;
  };
  return create(ConsentimentoSchema, {
    id: c.id,
    consorciadoId: c.consorciadoId,
    finalidade: Finalidade[c.finalidade as keyof typeof Finalidade] as Finalidade,
    concedido: c.concedido,
    canal: Canal[c.canal as keyof typeof Canal] as Canal,
    createTime: timestampFromDate(c.createdAt),
    registradoPor: c.registradoPor,
  });
}

/** The current data with the masked fields taken from the request. */
export function applyMask(
  current: DadosPessoais,
  incoming: DadosPessoais,
  paths: readonly string[],
): DadosPessoais {
  const next: DadosPessoais = structuredClone(current);
  for (const path of paths) {
    switch (path) {
      case "endereco":
        if (incoming.endereco) next.endereco = incoming.endereco;
        else delete next.endereco;
        break;
      case "conta_bancaria":
        if (incoming.contaBancaria) next.contaBancaria = incoming.contaBancaria;
        else delete next.contaBancaria;
        break;
      case "email":
        next.email = incoming.email;
        break;
      case "telefones":
        next.telefones = incoming.telefones;
        break;
      case "chave_pix":
        next.chavePix = incoming.chavePix;
        break;
      case "ocultar_nome":
        next.ocultarNome = incoming.ocultarNome;
        break;
      case "pep":
        next.pep = incoming.pep;
        break;
      case "pf.nome":
        if (next.pf) next.pf.nome = incoming.pf?.nome ?? "";
        break;
      case "pf.data_nascimento":
        if (next.pf) {
          if (incoming.pf?.dataNascimento) next.pf.dataNascimento = incoming.pf.dataNascimento;
          else delete next.pf.dataNascimento;
        }
        break;
      case "pj.razao_social":
        if (next.pj) next.pj.razaoSocial = incoming.pj?.razaoSocial ?? "";
        break;
      case "pj.representante_nome":
        if (next.pj) next.pj.representanteNome = incoming.pj?.representanteNome ?? "";
        break;
      case "pj.representante_cpf":
        if (next.pj) next.pj.representanteCpf = incoming.pj?.representanteCpf ?? "";
        break;
    }
  }
  return next;
}
