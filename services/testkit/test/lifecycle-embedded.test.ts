// The same lifecycle on npm start's embedded adapters: every service in one process sharing the
// in-process event bus and cache (PostgreSQL stays the real server, one fresh database each).
// Six months, not twelve: beside the RabbitMQ run (twelve) the pair took 4 minutes on CI's two
// cores; the months add nothing the bus mode changes. LIFECYCLE_MESES=12 runs it in full.
import { defineLifecycle } from "./lifecycle-scenario.ts";

defineLifecycle("embedded", Number(process.env.LIFECYCLE_MESES ?? 6));
