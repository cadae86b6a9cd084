// The grupo's whole life (issue 13) on real PostgreSQL, RabbitMQ and Redis: see lifecycle-scenario.ts.
import { defineLifecycle } from "./lifecycle-scenario.ts";

defineLifecycle("rabbitmq");
