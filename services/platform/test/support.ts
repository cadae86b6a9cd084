// Starts the widget test service against the real servers, with a JWKS served over HTTP.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningService } from "../src/service.ts";
import {
  createTestDatabase,
  createTestIssuer,
  deleteQueues,
  startTestService,
  type TestDatabase,
} from "../src/testing.ts";
import { widgetService } from "./widget-service.ts";

export interface WidgetHarness {
  service: RunningService;
  db: TestDatabase;
  issuer: Awaited<ReturnType<typeof createTestIssuer>>;
  jwksHits: () => number;
  stop(): Promise<void>;
}

export async function startWidgetHarness(env: Record<string, string> = {}): Promise<WidgetHarness> {
  const db = await createTestDatabase("platform");
  const issuer = await createTestIssuer();
  let hits = 0;
  const jwksServer: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(issuer.jwks));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  const jwksPort = (jwksServer.address() as AddressInfo).port;
  const queue = `platformtest.${db.name}`;
  const { service } = await startTestService(
    widgetService,
    { JWKS_URL: `http://127.0.0.1:${jwksPort}/.well-known/jwks.json`, WIDGET_QUEUE: queue, ...env },
    { db },
  );
  return {
    service,
    db,
    issuer,
    jwksHits: () => hits,
    async stop() {
      await service.stop();
      await new Promise((resolve) => jwksServer.close(resolve));
      await db.drop();
      await deleteQueues([queue]);
    },
  };
}
