// Appending to, reading and verifying the audit log: the use cases, on the domain's records
// (mapping.ts makes them AuditRecord messages).
import { fromBinary, type Registry, toJsonString } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ChamadaRegistrada,
  ChamadaRegistradaSchema,
} from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { CodeSchema, Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import { type IncomingMessage, InvalidArgumentError } from "@consorcio/platform";
import type { EntityManager } from "@mikro-orm/postgresql";
import {
  type ChainedFields,
  recordHash,
  type StoredRecord,
  type Verification,
  verifyChain,
} from "../domain/chain.ts";
import { AuditRecordRow } from "../store/entities.ts";

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

/** Where call records were published before they became a platform contract; same fields and numbers. */
const LEGACY_CALL_TYPE = "consorcio.auditoria.v1.ChamadaRegistrada";
/** The reserved field that held the outcome as a status name ("OK", "NOT_FOUND"...) before `result`. */
const LEGACY_RESULT_FIELD = 8;

/**
 * A call record, also as published before `result` became an enum: the old field's status
 * name (still in a queue) becomes the code; a name no code has becomes UNKNOWN.
 */
export function decodeCall(body: Uint8Array): ChamadaRegistrada {
  const call = fromBinary(ChamadaRegistradaSchema, body);
  const legacy = call.$unknown?.filter((f) => f.no === LEGACY_RESULT_FIELD);
  if (!legacy?.length) return call;
  call.$unknown = call.$unknown?.filter((f) => f.no !== LEGACY_RESULT_FIELD);
  const last = legacy.at(-1);
  if (last?.wireType !== WireType.LengthDelimited) return call;
  const name = new BinaryReader(last.data).string();
  call.result = (CodeSchema.values.find((v) => v.name === name)?.number ?? RpcCode.UNKNOWN) as RpcCode;
  return call;
}

/** What the record is about and who caused it, read from the event itself. */
export function describe(
  message: IncomingMessage,
  registry: Registry,
): Omit<ChainedFields, "seq" | "recordedAt"> {
  const occurredAt = message.timestamp.toISOString();
  if (message.type === ChamadaRegistradaSchema.typeName || message.type === LEGACY_CALL_TYPE) {
    const call = decodeCall(message.body);
    return {
      kind: "CALL",
      type: storable(call.method),
      messageId: message.id,
      subject: storable(call.target),
      actor: storable(call.actor),
      occurredAt,
      // With its defaults, so that a call that succeeded reads "result": "OK".
      payloadJson: toJsonString(ChamadaRegistradaSchema, call, { alwaysEmitImplicit: true }),
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
  recordedAt: Date,
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
    recordedAt: recordedAt.toISOString(),
  };
  const hash = recordHash(head.last_hash, fields);
  em.create(AuditRecordRow, { ...fields, previousHash: head.last_hash, hash });
  await em.flush();
  await em.execute("update audit_chain_head set last_seq = ?, last_hash = ? where id = 1", [
    fields.seq,
    hash,
  ]);
}

/**
 * Text held at once by a page or a verification batch, at most (a single record may be larger):
 * records are counted in rows by the callers, but a row can carry a payload of megabytes.
 */
const BATCH_BYTES = 4 * 1024 * 1024;
const VERIFY_BATCH_ROWS = 1_000;
const MAX_SEQ = 2n ** 63n - 1n;

interface RecordRow {
  seq: string;
  kind: "EVENT" | "CALL";
  type: string;
  message_id: string;
  subject: string;
  actor: string;
  occurred_at: string;
  recorded_at: string;
  payload_json: string;
  previous_hash: string;
  hash: string;
  next_seq: string | null;
}

/**
 * Records matching `conditions`, in seq order: at most `limit` of them, and no more than fit in
 * BATCH_BYTES (but at least one). Raw rows: nothing is kept in an identity map. `more` says
 * whether matching records follow.
 */
async function readRecords(
  em: EntityManager,
  conditions: readonly string[],
  params: readonly unknown[],
  limit: number,
): Promise<{ records: StoredRecord[]; more: boolean }> {
  const where = conditions.length > 0 ? `where ${conditions.join(" and ")}` : "";
  const rows = await em.execute<RecordRow[]>(
    `select r.seq::text as seq, r.kind, r.type, r.message_id, r.subject, r.actor, r.occurred_at,
       r.recorded_at, r.payload_json, r.previous_hash, r.hash, b.next_seq::text as next_seq
     from (select seq, row_number() over w as n, lead(seq) over w as next_seq,
             sum(octet_length(payload_json) + octet_length(subject) + octet_length(type)) over w as upto
           from audit_record ${where} window w as (order by seq) order by seq limit ?) b
     join audit_record r using (seq)
     where b.n = 1 or b.upto <= ?
     order by r.seq`,
    [...params, limit, BATCH_BYTES],
  );
  const records = rows.map(
    (row): StoredRecord => ({
      seq: row.seq,
      kind: row.kind,
      type: row.type,
      messageId: row.message_id,
      subject: row.subject,
      actor: row.actor,
      occurredAt: row.occurred_at,
      recordedAt: row.recorded_at,
      payloadJson: row.payload_json,
      previousHash: row.previous_hash,
      hash: row.hash,
    }),
  );
  return { records, more: rows.length > 0 && rows.at(-1)?.next_seq != null };
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
): Promise<{ records: StoredRecord[]; nextPageToken: string }> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (input.pageToken) {
    if (!/^[0-9]{1,19}$/.test(input.pageToken) || BigInt(input.pageToken) > MAX_SEQ) {
      throw new InvalidArgumentError([{ field: "page_token", message: "invalid page token" }]);
    }
    conditions.push("seq > ?");
    params.push(input.pageToken);
  }
  for (const [column, value] of [
    ["subject", input.subject],
    ["actor", input.actor],
    ["type", input.type],
  ] as const) {
    if (!value) continue;
    conditions.push(`${column} = ?`);
    params.push(value);
  }
  if (input.from) {
    conditions.push("occurred_at >= ?");
    params.push(input.from.toISOString());
  }
  if (input.to) {
    conditions.push("occurred_at < ?");
    params.push(input.to.toISOString());
  }
  // A page may hold fewer than page_size records when they are large; the token goes on.
  const { records, more } = await readRecords(em, conditions, params, input.pageSize || 100);
  return { records, nextPageToken: more ? (records.at(-1)?.seq ?? "") : "" };
}

/**
 * Recomputes the chain between two seqs, in batches. The range ends at the head as it was
 * when we started (records commit together with the head), so appends meanwhile are not
 * mistaken for breaks; a range that starts beyond the head is empty, hence intact.
 */
export async function verify(
  em: EntityManager,
  fromSeq: bigint,
  toSeq: bigint | undefined,
  signal?: AbortSignal,
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
    const [before] = await em.execute<{ hash: string }[]>("select hash from audit_record where seq = ?", [
      String(first - 1n),
    ]);
    previousHash = before?.hash ?? "";
  }
  let cursor = first;
  let checked = 0;
  while (cursor <= last) {
    // A long verification stops when its caller has gone.
    if (signal?.aborted) throw new ConnectError("verification cancelled", Code.Canceled);
    const { records } = await readRecords(
      em,
      ["seq >= ?", "seq <= ?"],
      [String(cursor), String(last)],
      VERIFY_BATCH_ROWS,
    );
    if (records.length === 0) break;
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
