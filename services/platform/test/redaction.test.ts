// debug_redact is the one mark of sensitive fields: logs redact them, request fingerprints leave
// them out, stored replays never keep them.
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sensitiveKeys, withoutSensitive } from "../src/redaction.ts";
import { GadgetSchema } from "./gen/consorcio/platformtest/v1/gadget_pb.js";
import { GadgetService } from "./gen/consorcio/platformtest/v1/gadget_service_pb.js";
import {
  CreateWidgetResponseSchema,
  WidgetService,
} from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

describe("sensitive fields, from the contracts' debug_redact", () => {
  const lines: string[] = [];
  let harness: WidgetHarness;
  let operador: string;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    harness = await startWidgetHarness({}, { logger: pino({ level: "info" }, sink) });
    operador = await harness.issuer.token({ roles: [Role.OPERADOR] });
  });
  afterAll(() => harness.stop());

  const client = () =>
    createClient(WidgetService, createConnectTransport({ baseUrl: harness.service.url, httpVersion: "2" }));
  const bearer = () => ({ headers: { authorization: `Bearer ${operador}` } });

  test("the keys logs redact are the annotated fields of the services' messages, not names guessed", () => {
    const keys = sensitiveKeys([WidgetService, GadgetService]);
    expect(keys).toEqual(expect.arrayContaining(["contato", "ownerEmail", "owner_email"]));
    expect(keys).not.toContain("name");
    expect(keys).not.toContain("label");
  });

  test("the service's logger (even one given by the caller) redacts them at any of the first levels", () => {
    harness.service.context.logger.info(
      { widget: { contato: "maria@example.com", name: "w1" }, deep: { a: { b: { contato: "x@y.z" } } } },
      "logged",
    );
    const line = lines.find((l) => l.includes('"logged"')) ?? "";
    expect(line).toContain('"name":"w1"');
    expect(line).not.toContain("maria@example.com");
    expect(line).not.toContain("x@y.z");
    expect(line).toContain('"contato":"[redacted]"');
  });

  test("withoutSensitive clears them at any depth, in lists and maps, and leaves the original alone", () => {
    const gadget = create(GadgetSchema, {
      label: "g",
      parts: [{ name: "a", ownerEmail: "a@example.com" }],
      spares: { s: { name: "s", ownerEmail: "s@example.com" } },
      inner: { parts: [{ name: "i", ownerEmail: "i@example.com" }] },
    });
    const copy = withoutSensitive(GadgetSchema, gadget);
    expect(copy).toEqual(
      create(GadgetSchema, {
        label: "g",
        parts: [{ name: "a" }],
        spares: { s: { name: "s" } },
        inner: { parts: [{ name: "i" }] },
      }),
    );
    expect(gadget.parts[0]?.ownerEmail).toBe("a@example.com");
  });

  test("a retry differing only in a sensitive field is a replay; the stored response does not hold it", async () => {
    const requestId = randomUUID();
    const first = await client().createWidget(
      { name: "sensivel", contato: "maria@example.com", requestId },
      bearer(),
    );
    expect(first.widget?.contato).toBe("maria@example.com");
    const [row] = await harness.db.query("select response from platform_idempotency where request_id = $1", [
      requestId,
    ]);
    const stored = fromBinary(CreateWidgetResponseSchema, row?.response as Uint8Array);
    expect(stored.widget?.id).toBe(first.widget?.id);
    expect(stored.widget?.contato).toBe("");
    expect(Buffer.from(row?.response as Uint8Array).includes("maria@example.com")).toBe(false);

    const again = await client().createWidget(
      { name: "sensivel", contato: "outro@example.com", requestId },
      bearer(),
    );
    expect(again.widget?.id).toBe(first.widget?.id);
    expect(again.widget?.contato).toBe("");

    const changed = await client()
      .createWidget({ name: "outro nome", contato: "maria@example.com", requestId }, bearer())
      .catch((e) => e);
    expect(ConnectError.from(changed).code).toBe(Code.FailedPrecondition);
  });
});
