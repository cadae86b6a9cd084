// The widget service (full interceptor chain) with the OTEL_* settings the bench gives it: the
// same process as servers/widget.ts, tracing on or off by the environment alone.
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { startWidgetHarness } from "../../services/platform/test/support.ts";
import { serveChild } from "../lib/child.ts";

export interface TracedWidgetInfo {
  port: number;
  token: string;
}

const otel = Object.fromEntries(
  Object.entries(process.env).filter(
    (entry): entry is [string, string] => entry[0].startsWith("OTEL_") && entry[1] !== undefined,
  ),
);
const harness = await startWidgetHarness(otel);
try {
  const token = await harness.issuer.token({ roles: [Role.OPERADOR], expiresIn: "2h" });
  const info: TracedWidgetInfo = { port: harness.service.port, token };
  serveChild(info, () => harness.stop());
} catch (error) {
  await harness.stop();
  throw error;
}
