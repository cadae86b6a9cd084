// The audit log's records as the contract's AuditRecord: the only proto mapping, beside routes.ts.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AuditRecord,
  AuditRecordSchema,
  RecordKind,
} from "@consorcio/gen/consorcio/auditoria/v1/auditoria_pb.js";
import type { StoredRecord } from "./domain/chain.ts";

export function toMessage(record: StoredRecord): AuditRecord {
  return create(AuditRecordSchema, {
    seq: BigInt(record.seq),
    kind: record.kind === "CALL" ? RecordKind.CALL : RecordKind.EVENT,
    type: record.type,
    messageId: record.messageId,
    subject: record.subject,
    actor: record.actor,
    eventTime: timestampFromDate(new Date(record.occurredAt)),
    createTime: timestampFromDate(new Date(record.recordedAt)),
    payloadJson: record.payloadJson,
    previousHash: record.previousHash,
    hash: record.hash,
  });
}
