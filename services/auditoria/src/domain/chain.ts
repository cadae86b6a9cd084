// The hash chain of the audit log: each record's hash covers its canonical
// encoding (RFC 8785 JSON) and the previous record's hash.
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

export interface ChainedFields {
  seq: string;
  kind: "EVENT" | "CALL";
  type: string;
  messageId: string;
  subject: string;
  actor: string;
  occurredAt: string;
  recordedAt: string;
  payloadJson: string;
}

export interface StoredRecord extends ChainedFields {
  previousHash: string;
  hash: string;
}

export function recordHash(previousHash: string, fields: ChainedFields): string {
  // Only the chained fields: callers may pass a whole stored row.
  const { seq, kind, type, messageId, subject, actor, occurredAt, recordedAt, payloadJson } = fields;
  const encoded = canonicalize({
    seq,
    kind,
    type,
    messageId,
    subject,
    actor,
    occurredAt,
    recordedAt,
    payloadJson,
    previousHash,
  });
  if (encoded === undefined) throw new Error("record cannot be encoded");
  return createHash("sha256").update(encoded, "utf8").digest("hex");
}

export interface Verification {
  checked: number;
  /** Seq of the first record that does not match, or undefined when intact. */
  firstBroken?: string;
  detail?: string;
}

/**
 * Recomputes the chain from `previousHash` over records in seq order. Hashes are
 * chained from the recomputed values, so an edit anywhere shows at that record.
 */
export function verifyChain(previousHash: string, records: readonly StoredRecord[]): Verification {
  let expectedPrevious = previousHash;
  let checked = 0;
  for (const record of records) {
    checked++;
    if (record.previousHash !== expectedPrevious) {
      return { checked, firstBroken: record.seq, detail: "previous hash does not match the chain" };
    }
    const computed = recordHash(expectedPrevious, record);
    if (computed !== record.hash)
      return { checked, firstBroken: record.seq, detail: "record content does not match its hash" };
    expectedPrevious = computed;
  }
  return { checked };
}
