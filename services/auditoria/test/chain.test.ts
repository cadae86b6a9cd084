import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type ChainedFields, recordHash, type StoredRecord, verifyChain } from "../src/domain/chain.ts";

const fieldsArb = fc.record({
  kind: fc.constantFrom("EVENT" as const, "CALL" as const),
  type: fc.string(),
  messageId: fc.uuid(),
  subject: fc.string(),
  actor: fc.string(),
  occurredAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  recordedAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  payloadJson: fc.json(),
});

function chain(entries: Omit<ChainedFields, "seq">[]): StoredRecord[] {
  let previousHash = "";
  return entries.map((entry, index) => {
    const fields = { ...entry, seq: String(index + 1) };
    const hash = recordHash(previousHash, fields);
    const record = { ...fields, previousHash, hash };
    previousHash = hash;
    return record;
  });
}

describe("hash chain", () => {
  test("an untouched chain verifies", () => {
    fc.assert(
      fc.property(fc.array(fieldsArb, { maxLength: 20 }), (entries) => {
        expect(verifyChain("", chain(entries))).toEqual({ checked: entries.length });
      }),
    );
  });

  test("changing any field of any record is reported at that record", () => {
    const keys = [
      "type",
      "messageId",
      "subject",
      "actor",
      "occurredAt",
      "recordedAt",
      "payloadJson",
      "seq",
    ] as const;
    fc.assert(
      fc.property(
        fc.array(fieldsArb, { minLength: 1, maxLength: 10 }),
        fc.nat(),
        fc.constantFrom(...keys),
        (entries, i, key) => {
          const records = chain(entries);
          const index = i % records.length;
          const target = records[index];
          if (!target) return;
          records[index] = { ...target, [key]: `${target[key]}x` };
          expect(verifyChain("", records).firstBroken).toBe(records[index]?.seq);
        },
      ),
    );
  });

  test("recomputing the edited record's hash still breaks at it (the next link is checked against the recomputed chain)", () => {
    const records = chain([
      {
        kind: "EVENT",
        type: "a",
        messageId: "1",
        subject: "s",
        actor: "",
        occurredAt: "t",
        recordedAt: "t",
        payloadJson: "{}",
      },
      {
        kind: "EVENT",
        type: "b",
        messageId: "2",
        subject: "s",
        actor: "",
        occurredAt: "t",
        recordedAt: "t",
        payloadJson: "{}",
      },
    ]);
    const first = records[0];
    if (!first) throw new Error("no record");
    const forged = { ...first, subject: "outro" };
    records[0] = { ...forged, hash: recordHash("", forged) };
    expect(verifyChain("", records).firstBroken).toBe("2");
  });

  test("the hash does not depend on key order and changes with the previous hash", () => {
    const fields: ChainedFields = {
      seq: "1",
      kind: "CALL",
      type: "t",
      messageId: "m",
      subject: "s",
      actor: "a",
      occurredAt: "o",
      recordedAt: "r",
      payloadJson: "{}",
    };
    const reordered = Object.fromEntries(Object.entries(fields).reverse()) as unknown as ChainedFields;
    expect(recordHash("", reordered)).toBe(recordHash("", fields));
    expect(recordHash("00", fields)).not.toBe(recordHash("", fields));
  });
});
