import { defineEntity, p } from "@mikro-orm/core";

export const AuditRecordRow = defineEntity({
  name: "AuditRecordRow",
  tableName: "audit_record",
  properties: {
    seq: p.bigint("string").primary(),
    kind: p.string().$type<"EVENT" | "CALL">(),
    type: p.string(),
    messageId: p.string().unique(),
    subject: p.string(),
    actor: p.string(),
    occurredAt: p.string(),
    recordedAt: p.string(),
    payloadJson: p.text(),
    previousHash: p.string(),
    hash: p.string(),
  },
});

export const entities = [AuditRecordRow];
