// The widget test service (full platform chain, as bench/servers/widget.ts) trusting identidade's
// real JWKS: JWKS_URL is BENCH_JWKS_URL, identidade's /.well-known/jwks.json. One widget is stored
// so that GetWidget can prove a token is accepted (Ping is public and ignores a rejected token).
import { startWidgetHarness } from "../../services/platform/test/support.ts";
import { serveChild } from "../lib/child.ts";
import type { WidgetInfo } from "./widget.ts";

export type WidgetIdentidadeInfo = Omit<WidgetInfo, "token">;

const jwksUrl = process.env.BENCH_JWKS_URL;
if (!jwksUrl) throw new Error("BENCH_JWKS_URL is not set");
const harness = await startWidgetHarness({ JWKS_URL: jwksUrl });
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
  serveChild({ port: harness.service.port, widget } satisfies WidgetIdentidadeInfo, () => harness.stop());
} catch (error) {
  await harness.stop();
  throw error;
}
