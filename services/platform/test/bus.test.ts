import { createLogger } from "../src/logging.ts";
import { createMemoryBus } from "../src/memory-bus.ts";
import { connectRabbitMqBus } from "../src/rabbitmq-bus.ts";
import { deleteQueues, testServers } from "../src/testing.ts";
import { busConformance } from "./bus-conformance.ts";

const logger = createLogger({ service: "test", level: "silent" });

busConformance(
  "in-process",
  async () => createMemoryBus(logger),
  async () => {},
);

busConformance(
  "RabbitMQ",
  () => connectRabbitMqBus({ url: testServers.amqpUrl, logger, waitForConnectMs: 10_000 }),
  deleteQueues,
);
