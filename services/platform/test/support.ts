// Starts the widget test service against the real servers, with a JWKS served over HTTP.
import type { Logger } from "../src/logging.ts";
import type { RunningService } from "../src/service.ts";
import {
  createTestDatabase,
  createTestIssuer,
  deleteQueues,
  serveJwks,
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

export async function startWidgetHarness(
  env: Record<string, string> = {},
  options: { logger?: Logger } = {},
): Promise<WidgetHarness> {
  const db = await createTestDatabase("platform");
  const issuer = await createTestIssuer();
  const jwks = await serveJwks(issuer.jwks);
  const queue = `platformtest.${db.name}`;
  const { service } = await startTestService(
    widgetService,
    { JWKS_URL: jwks.url, WIDGET_QUEUE: queue, ...env },
    { db, ...options },
  );
  return {
    service,
    db,
    issuer,
    jwksHits: jwks.hits,
    async stop() {
      await service.stop();
      await jwks.close();
      await db.drop();
      await deleteQueues([queue]);
    },
  };
}
