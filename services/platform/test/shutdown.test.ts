import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { expect, test } from "vitest";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness } from "./support.ts";

test("graceful shutdown lets calls in flight finish and refuses new ones", async () => {
  const harness = await startWidgetHarness();
  const token = await harness.issuer.token({ roles: [Role.OPERADOR] });
  const auth = { headers: { authorization: `Bearer ${token}` } };
  const grpc = createClient(WidgetService, createGrpcTransport({ baseUrl: harness.service.url }));
  const http1 = createClient(
    WidgetService,
    createConnectTransport({ baseUrl: harness.service.url, httpVersion: "1.1" }),
  );
  const inFlight = [
    grpc.createWidget({ name: "slow-h2" }, auth),
    http1.createWidget({ name: "slow-h1" }, auth),
  ];
  await new Promise((resolve) => setTimeout(resolve, 150));
  const stopped = harness.service.stop();
  const [h2, h1] = await Promise.all(inFlight);
  expect(h2?.widget?.name).toBe("slow-h2");
  expect(h1?.widget?.name).toBe("slow-h1");
  await stopped;
  const fresh = createClient(WidgetService, createGrpcTransport({ baseUrl: harness.service.url }));
  await expect(fresh.ping({})).rejects.toMatchObject({ code: Code.Unavailable });
  const rows = await harness.db.query("select name from widget where name like 'slow-%' order by name");
  expect(rows.map((r) => r.name)).toEqual(["slow-h1", "slow-h2"]);
  await harness.stop();
});
