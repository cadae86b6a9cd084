// A throwaway service built exactly like a real one, to test the platform end to end.
import { create } from "@bufbuild/protobuf";
import { defineEntity, p } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";
import { uuidv7 } from "uuidv7";
import { z } from "zod";
import { on } from "../src/consumer.ts";
import { ownerScopeKey } from "../src/context.ts";
import { NotFoundError, PermissionDeniedError } from "../src/errors.ts";
import type { ServiceDefinition } from "../src/service.ts";
import { GadgetService } from "../test/gen/consorcio/platformtest/v1/gadget_service_pb.js";
import { WidgetCriadoSchema, WidgetTocadoSchema } from "../test/gen/consorcio/platformtest/v1/widget_pb.js";
import {
  CreateWidgetRequestSchema,
  CreateWidgetResponseSchema,
  WidgetService,
} from "../test/gen/consorcio/platformtest/v1/widget_service_pb.js";

export const Widget = defineEntity({
  name: "Widget",
  tableName: "widget",
  properties: {
    id: p.uuid().primary(),
    name: p.string(),
    amountCentavos: p.bigint(),
    ownerId: p.string(),
    version: p.integer().version(),
  },
});

/** Sum of WidgetTocado amounts per widget: a second effect of a duplicate would show here. */
export const WidgetTouch = defineEntity({
  name: "WidgetTouch",
  tableName: "widget_touch",
  properties: {
    widgetId: p.string().primary(),
    total: p.integer(),
    deliveries: p.integer(),
  },
});

class CreateWidgetJobLog extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      "create table widget_job_log (scheduled_for timestamptz not null, ran_at timestamptz not null, manual boolean not null)",
    );
  }
}

class CreateWidgetTables extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table widget (
      id uuid primary key, name text not null, amount_centavos bigint not null,
      owner_id text not null, version int not null default 1)`);
    this.addSql(
      "create table widget_touch (widget_id text primary key, total int not null, deliveries int not null)",
    );
  }
}

/** Widgets whose name starts with this fail after writing, to prove the rollback. */
export const FAIL_AFTER_WRITE = "fail-after-write";
/** Widgets whose name starts with this take half a second to create (graceful shutdown). */
export const SLOW = "slow";
/** WidgetTocado for widget ids starting with this always fails (dead-letter path). */
export const POISON = "poison";
/** The test job fails while a widget with this name exists. */
export const FAIL_JOB = "fail-job";
export const WIDGET_JOB = "platformtest.tick";

const widgetEnv = z.object({
  WIDGET_QUEUE: z.string().default("platformtest.queue"),
  WIDGET_JOB_CRON: z.string().default("*/5 * * * *"),
});

export const widgetService: ServiceDefinition<typeof widgetEnv> = {
  name: "platformtest",
  env: widgetEnv,
  services: [WidgetService, GadgetService],
  entities: [Widget, WidgetTouch],
  migrations: [
    { name: "0001_widget", class: CreateWidgetTables },
    { name: "0002_widget_job", class: CreateWidgetJobLog },
  ],
  routes(router, { tx, db }) {
    // Answers each request as the handler received it (field behaviour tests).
    router.service(GadgetService, {
      createGadget: (seen) => ({ seen }),
      updateGadget: (seen) => ({ seen }),
    });
    router.service(WidgetService, {
      async createWidget(req, context) {
        return tx.idempotent(
          context,
          { schema: CreateWidgetRequestSchema, message: req, requestId: req.requestId },
          CreateWidgetResponseSchema,
          async ({ em, publish }) => {
            const widget = em.create(Widget, {
              id: uuidv7(),
              name: req.name,
              amountCentavos: req.amountCentavos,
              ownerId: req.ownerId,
            });
            publish(
              WidgetCriadoSchema,
              create(WidgetCriadoSchema, { widgetId: widget.id, name: widget.name }),
            );
            await em.flush();
            if (req.name.startsWith(SLOW)) await new Promise((resolve) => setTimeout(resolve, 500));
            if (req.name.startsWith(FAIL_AFTER_WRITE)) throw new Error("boom after write");
            return create(CreateWidgetResponseSchema, {
              widget: {
                id: widget.id,
                name: widget.name,
                amountCentavos: widget.amountCentavos,
                ownerId: widget.ownerId,
                contato: req.contato,
              },
            });
          },
        );
      },
      async getWidget(req, context) {
        const widget = await db.fork().findOne(Widget, { id: req.id });
        if (!widget) throw new NotFoundError(`widget ${req.id} not found`);
        const owner = context.values.get(ownerScopeKey);
        if (owner && owner.consorciadoId !== widget.ownerId) throw new PermissionDeniedError();
        return {
          widget: {
            id: widget.id,
            name: widget.name,
            amountCentavos: widget.amountCentavos,
            ownerId: widget.ownerId,
          },
        };
      },
      async ping(req) {
        return { message: req.message || "pong" };
      },
      async unguarded() {
        return {};
      },
      async explode() {
        throw new Error("secret internal detail");
      },
    });
  },
  jobs: ({ config, db }) => [
    {
      name: WIDGET_JOB,
      schedule: { cron: config.WIDGET_JOB_CRON },
      async run({ scheduledFor, now, manual }) {
        const em = db.fork();
        if ((await em.count(Widget, { name: FAIL_JOB })) > 0)
          throw new Error("the widget job was told to fail");
        await em.execute("insert into widget_job_log (scheduled_for, ran_at, manual) values (?, ?, ?)", [
          scheduledFor,
          now,
          manual,
        ]);
      },
    },
  ],
  consumers: ({ config }) => [
    {
      queue: config.WIDGET_QUEUE,
      handlers: [
        on(WidgetTocadoSchema, async ({ em }, event) => {
          if (event.widgetId.startsWith(POISON)) throw new Error("poison message");
          await em.execute(
            `insert into widget_touch (widget_id, total, deliveries) values (?, ?, 1)
             on conflict (widget_id) do update set total = widget_touch.total + excluded.total,
               deliveries = widget_touch.deliveries + 1`,
            [event.widgetId, event.amount],
          );
        }),
      ],
    },
  ],
};
