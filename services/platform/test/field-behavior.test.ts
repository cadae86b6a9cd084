// Output-only fields are ignored on input (AIP-203); IDENTIFIER fields only in Create requests.
import { randomUUID } from "node:crypto";
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { ChamadaRegistradaSchema } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clearIgnoredFields } from "../src/field-behavior.ts";
import { type Gadget, GadgetSchema, GadgetStatus } from "./gen/consorcio/platformtest/v1/gadget_pb.js";
import {
  CreateGadgetRequestSchema,
  GadgetService,
  UpdateGadgetRequestSchema,
} from "./gen/consorcio/platformtest/v1/gadget_service_pb.js";
import { PingRequestSchema, WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

/** A gadget with every field set, server-set ones included, nested parts and gadget too. */
function fullGadget(id: string): Gadget {
  const part = (name: string) => ({ name, serial: `serial-${name}` });
  return create(GadgetSchema, {
    id,
    label: "rótulo",
    status: GadgetStatus.READY,
    createTime: timestampFromMs(1_700_000_000_000),
    version: 7,
    parts: [part("a"), part("b")],
    spares: { x: part("x") },
    origin: { case: "batch", value: "lote-1" },
    inner: { id: "inner-id", label: "dentro", status: GadgetStatus.READY, version: 2, parts: [part("c")] },
  });
}

/** What the server may keep of fullGadget: `withIds` in an Update, without them in a Create. */
function expectedGadget(id: string, withIds: boolean): Gadget {
  const part = (name: string) => ({ name, serial: "" });
  return create(GadgetSchema, {
    id: withIds ? id : "",
    label: "rótulo",
    version: withIds ? 7 : 0,
    parts: [part("a"), part("b")],
    spares: { x: part("x") },
    inner: { id: withIds ? "inner-id" : "", label: "dentro", version: withIds ? 2 : 0, parts: [part("c")] },
  });
}

describe("field behaviour on input", () => {
  let harness: WidgetHarness;
  let admin: string;
  let clients: [string, Client<typeof GadgetService>][];

  beforeAll(async () => {
    harness = await startWidgetHarness();
    admin = await harness.issuer.token({ roles: [Role.ADMIN] });
    const baseUrl = harness.service.url;
    clients = [
      ["connect", createClient(GadgetService, createConnectTransport({ baseUrl, httpVersion: "2" }))],
      ["grpc", createClient(GadgetService, createGrpcTransport({ baseUrl }))],
    ];
  });
  afterAll(() => harness.stop());

  const bearer = () => ({ headers: { authorization: `Bearer ${admin}` } });

  test("a Create's handler sees output-only and identifier fields cleared, at any depth", async () => {
    for (const [protocol, client] of clients) {
      const id = randomUUID();
      const { seen } = await client.createGadget({ gadget: fullGadget(id), requestId: id }, bearer());
      expect(seen?.gadget, protocol).toEqual(expectedGadget(id, false));
      expect(seen?.requestId, protocol).toBe(id);
    }
  });

  test("an Update keeps the id and the version it names, and clears the output-only fields", async () => {
    for (const [protocol, client] of clients) {
      const id = randomUUID();
      const { seen } = await client.updateGadget(
        { gadget: fullGadget(id), updateMask: { paths: ["label", "status"] } },
        bearer(),
      );
      expect(seen?.gadget, protocol).toEqual(expectedGadget(id, true));
      expect(seen?.updateMask?.paths, protocol).toEqual(["label", "status"]);
    }
  });

  test("a oneof member that is not output-only is kept", async () => {
    const [, client] = clients[0] as [string, Client<typeof GadgetService>];
    const gadget = { ...fullGadget(randomUUID()), origin: { case: "maker" as const, value: "fábrica" } };
    const { seen } = await client.createGadget({ gadget }, bearer());
    expect(seen?.gadget?.origin).toEqual({ case: "maker", value: "fábrica" });
  });

  test("the call audit names the Create's target from what the server acted on, not the client's id", async () => {
    const [, client] = clients[0] as [string, Client<typeof GadgetService>];
    const requestId = randomUUID();
    const bogus = randomUUID();
    await client.createGadget({ gadget: fullGadget(bogus), requestId }, bearer());
    const calls = (
      await harness.db.query("select payload from platform_outbox where event_type = $1", [
        ChamadaRegistradaSchema.typeName,
      ])
    )
      .map((row) => fromBinary(ChamadaRegistradaSchema, row.payload))
      .filter((call) => call.requestId === requestId);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.target).not.toBe(bogus);
  });

  test("messages of methods without such fields are left as they are", () => {
    const ping = create(PingRequestSchema, { message: "olá" });
    clearIgnoredFields(WidgetService.method.ping, ping);
    expect(ping).toEqual(create(PingRequestSchema, { message: "olá" }));
    const update = create(UpdateGadgetRequestSchema, { gadget: fullGadget("g") });
    clearIgnoredFields(GadgetService.method.updateGadget, update);
    expect(update.gadget).toEqual(expectedGadget("g", true));
    const created = create(CreateGadgetRequestSchema, { gadget: fullGadget("g") });
    clearIgnoredFields(GadgetService.method.createGadget, created);
    expect(created.gadget).toEqual(expectedGadget("g", false));
  });
});
