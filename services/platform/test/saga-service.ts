// Step two of a test saga: each WidgetCriado is counted and answered with WidgetTocado, in one unit of work.
import { create } from "@bufbuild/protobuf";
import { defineEntity, p } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";
import { z } from "zod";
import { on } from "../src/consumer.ts";
import type { ServiceDefinition } from "../src/service.ts";
import { WidgetCriadoSchema, WidgetTocadoSchema } from "./gen/consorcio/platformtest/v1/widget_pb.js";

export const SagaStep = defineEntity({
  name: "SagaStep",
  tableName: "saga_step",
  properties: { widgetId: p.string().primary(), applied: p.integer() },
});

class CreateSagaTables extends Migration {
  override async up(): Promise<void> {
    this.addSql("create table saga_step (widget_id text primary key, applied int not null)");
  }
}

const sagaEnv = z.object({
  SAGA_QUEUE: z.string().min(1),
  /** Widgets whose name starts with this kill the process in the middle of their step. */
  SAGA_KILL_ON: z.string().optional(),
});

export const sagaService: ServiceDefinition<typeof sagaEnv> = {
  name: "sagatest",
  env: sagaEnv,
  services: [],
  entities: [SagaStep],
  migrations: [{ name: "0001_saga", class: CreateSagaTables }],
  routes() {},
  consumers: ({ config }) => [
    {
      queue: config.SAGA_QUEUE,
      handlers: [
        on(WidgetCriadoSchema, async ({ em, publish }, event) => {
          await em.execute(
            `insert into saga_step (widget_id, applied) values (?, 1)
             on conflict (widget_id) do update set applied = saga_step.applied + 1`,
            [event.widgetId],
          );
          publish(WidgetTocadoSchema, create(WidgetTocadoSchema, { widgetId: event.widgetId, amount: 1 }));
          if (config.SAGA_KILL_ON && event.name.startsWith(config.SAGA_KILL_ON)) {
            process.kill(process.pid, "SIGKILL"); // mid-step: the effect and the event are not committed
          }
        }),
      ],
    },
  ],
};
