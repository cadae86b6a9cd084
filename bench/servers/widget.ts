// The platform under test: the widget service with the full interceptor chain,
// started by the platform's own test harness (fresh database, RabbitMQ, Redis, JWKS).
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { startWidgetHarness } from "../../services/platform/test/support.ts";
import { serveChild } from "../lib/child.ts";

export interface WidgetInfo {
  port: number;
  token: string;
  widget: { id: string; name: string; amountCentavos: string; ownerId: string };
}

const harness = await startWidgetHarness();
try {
  const widget = {
    id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    name: "bench widget",
    amountCentavos: "123456",
    ownerId: "bench-owner",
  };
  await harness.db.query(
    "insert into widget (id, name, amount_centavos, owner_id, version) values ($1, $2, $3, $4, 1)",
    [widget.id, widget.name, widget.amountCentavos, widget.ownerId],
  );
  const token = await harness.issuer.token({ roles: [Role.OPERADOR], expiresIn: "2h" });
  const info: WidgetInfo = { port: harness.service.port, token, widget };
  serveChild(info, () => harness.stop());
} catch (error) {
  await harness.stop();
  throw error;
}
