// Appending to, reading and verifying the audit log.
import { create, fromBinary, type Registry, toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AuditRecord,
  AuditRecordSchema,
  ChamadaRegistradaSchema,
  RecordKind,
} from "@consorcio/gen/consorcio/auditoria/v1/auditoria_pb.js";
import { type IncomingMessage, InvalidArgumentError } from "@consorcio/platform";
import type { EntityManager } from "@mikro-orm/postgresql";
import {
  type ChainedFields,
  recordHash,
  type StoredRecord,
  type Verification,
  verifyChain,
} from "./domain/chain.ts";
import { AuditRecordRow } from "./store/entities.ts";

type Row = InstanceType<typeof AuditRecordRow.class>;

const STORED_TEXT_MAX = 256;

/**
 * Text from an event (its type, subject, actor) made storable whatever the publisher put in it:
 * PostgreSQL text holds no NUL and an index row has a size limit, so control and format
 * characters become U+FFFD, broken surrogates are repaired and the length is bounded.
 */
export function storable(text: string): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}]/gu, "\uFFFD");
  const bounded = clean.length > STORED_TEXT_MAX ? `${clean.slice(0, STORED_TEXT_MAX - 1)}…` : clean;
  return bounded.toWellFormed();
}

/** What the record is about and who caused it, read from the event itself. */
export function describe(
  message: IncomingMessage,
  registry: Registry,
): Omit<ChainedFields, "seq" | "recordedAt"> {
  const occurredAt = message.timestamp.toISOString();
  if (message.type === ChamadaRegistradaSchema.typeName) {
    const call = fromBinary(ChamadaRegistradaSchema, message.body);
    return {
      kind: "CALL",
      type: storable(call.method),
      messageId: message.id,
      subject: storable(call.target),
      actor: storable(call.actor),
      occurredAt,
      payloadJson: toJsonString(ChamadaRegistradaSchema, call),
    };
  }
  const schema = registry.getMessage(message.type);
  let subject = "";
  let payloadJson: string;
  if (schema) {
    const event = fromBinary(schema, message.body) as unknown as Record<string, unknown>;
    const idField = schema.fields.find(
      (f) => f.name.endsWith("_id") && typeof event[f.localName] === "string" && event[f.localName],
    );
    subject = idField ? storable(String(event[idField.localName])) : "";
    payloadJson = toJsonString(schema, event as never, { registry });
  } else {
    // An event this build does not know yet: kept verbatim.
    payloadJson = JSON.stringify({
      unknownType: message.type,
      base64: Buffer.from(message.body).toString("base64"),
    });
  }
  return {
    kind: "EVENT",
    type: storable(message.type),
    messageId: message.id,
    subject,
    actor: storable(message.headers.actor ?? ""),
    occurredAt,
    payloadJson,
  };
}

/** Appends one record under the chain head's lock; a message id already present is skipped. */
export async function append(
  em: EntityManager,
  entry: Omit<ChainedFields, "seq" | "recordedAt">,
): Promise<void> {
  const [head] = await em.execute<{ last_seq: string; last_hash: string }[]>(
    "select last_seq, last_hash from audit_chain_head where id = 1 for update",
  );
  if (!head) throw new Error("audit chain head missing");
  const exists = await em.execute<unknown[]>("select 1 from audit_record where message_id = ?", [
    entry.messageId,
  ]);
  if (exists.length > 0) return;
  const fields: ChainedFields = {
    ...entry,
    seq: String(BigInt(head.last_seq) + 1n),
    recordedAt: new Date().toISOString(),
  };
  const hash = recordHash(head.last_hash, fields);
  em.create(AuditRecordRow, { ...fields, previousHash: head.last_hash, hash });
  await em.flush();
  await em.execute("update audit_chain_head set last_seq = ?, last_hash = ? where id = 1", [
    fields.seq,
    hash,
  ]);
}

export function toMessage(row: Row): AuditRecord {
  return create(AuditRecordSchema, {
    seq: BigInt(row.seq),
    kind: row.kind === "CALL" ? RecordKind.CALL : RecordKind.EVENT,
    type: row.type,
    messageId: row.messageId,
    subject: row.subject,
    actor: row.actor,
    occurredTime: timestampFromDate(new Date(row.occurredAt)),
    recordedTime: timestampFromDate(new Date(row.recordedAt)),
    payloadJson: row.payloadJson,
    previousHash: row.previousHash,
    hash: row.hash,
  });
}

export async function list(
  em: EntityManager,
  input: {
    pageSize: number;
    pageToken: string;
    subject: string;
    actor: string;
    type: string;
    from?: Date;
    to?: Date;
  },
): Promise<{ records: AuditRecord[]; nextPageToken: string }> {
  const pageSize = input.pageSize || 100;
  if (input.pageToken && !/^[0-9]{1,19}$/.test(input.pageToken)) {
    throw new InvalidArgumentError([{ field: "page_token", message: "invalid page token" }]);
  }
  const where: Record<string, unknown> = {};
  if (input.pageToken) where.seq = { $gt: input.pageToken };
  if (input.subject) where.subject = input.subject;
  if (input.actor) where.actor = input.actor;
  if (input.type) where.type = input.type;
  const occurred: Record<string, string> = {};
  if (input.from) occurred.$gte = input.from.toISOString();
  if (input.to) occurred.$lt = input.to.toISOString();
  if (Object.keys(occurred).length > 0) where.occurredAt = occurred;
  const rows = await em.find(AuditRecordRow, where, { orderBy: { seq: "asc" }, limit: pageSize + 1 });
  const page = rows.slice(0, pageSize);
  return {
    records: page.map(toMessage),
    nextPageToken: rows.length > pageSize ? String(page.at(-1)?.seq ?? "") : "",
  };
}

const VERIFY_BATCH = 2_000;

/**
 * Recomputes the chain between two seqs, in batches. The range ends at the head as it was
 * when we started (records commit together with the head), so appends meanwhile are not
 * mistaken for breaks; a range that starts beyond the head is empty, hence intact.
 */
export async function verify(
  em: EntityManager,
  fromSeq: bigint,
  toSeq: bigint | undefined,
): Promise<Verification> {
  const first = fromSeq > 1n ? fromSeq : 1n;
  if (toSeq !== undefined && toSeq < first) {
    throw new InvalidArgumentError([{ field: "to_seq", message: "to_seq must not be before from_seq" }]);
  }
  const [head] = await em.execute<{ last_seq: string; last_hash: string }[]>(
    "select last_seq, last_hash from audit_chain_head where id = 1",
  );
  if (!head) throw new Error("audit chain head missing");
  const headSeq = BigInt(head.last_seq);
  if (first > headSeq) return { checked: 0 };
  const last = toSeq !== undefined && toSeq < headSeq ? toSeq : headSeq;
  let previousHash = "";
  if (first > 1n) {
    const before = await em.findOne(AuditRecordRow, { seq: String(first - 1n) });
    previousHash = before?.hash ?? "";
  }
  let cursor = first;
  let checked = 0;
  while (cursor <= last) {
    const rows = await em.find(
      AuditRecordRow,
      { seq: { $gte: String(cursor), $lte: String(last) } },
      { orderBy: { seq: "asc" }, limit: VERIFY_BATCH },
    );
    em.clear();
    if (rows.length === 0) break;
    const records: StoredRecord[] = rows.map((row) => ({ ...row, seq: String(row.seq) }));
    const result = verifyChain(previousHash, records);
    checked += result.checked;
    if (result.firstBroken) return { ...result, checked };
    previousHash = records.at(-1)?.hash ?? previousHash;
    cursor = BigInt(records.at(-1)?.seq ?? "0") + 1n;
  }
  // Records cut off the end of the range would otherwise go unnoticed.
  if (cursor <= last) {
    return { checked, firstBroken: String(cursor), detail: `records ${cursor} to ${last} are missing` };
  }
  if (last === headSeq && previousHash !== head.last_hash) {
    return { checked, firstBroken: String(headSeq), detail: "the last record does not match the chain head" };
  }
  return { checked };
}
