import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, test } from "vitest";
import type { EventBus, IncomingMessage, OutgoingMessage } from "../src/bus.ts";
import { eventually } from "../src/testing.ts";

function message(type: string, body = "x"): OutgoingMessage {
  return {
    id: randomUUID(),
    type,
    routingKey: type,
    body: new TextEncoder().encode(body),
    headers: { "correlation-id": "corr-1", actor: "tester" },
    timestamp: new Date(Math.floor(Date.now() / 1000) * 1000),
  };
}

/** The behaviour every EventBus adapter must have; run once per adapter. */
export function busConformance(
  name: string,
  open: () => Promise<EventBus>,
  cleanup: (queues: string[]) => Promise<void>,
) {
  describe(`${name} event bus conformance`, () => {
    const queues: string[] = [];
    const buses: EventBus[] = [];
    const fresh = async () => {
      const bus = await open();
      buses.push(bus);
      return bus;
    };
    const queueName = () => {
      const queue = `conformance.${randomUUID().slice(0, 8)}`;
      queues.push(queue);
      return queue;
    };
    afterAll(async () => {
      for (const bus of buses) await bus.close();
      await cleanup(queues);
    });

    test("a declared queue keeps what is published until its first consumer runs", async () => {
      const bus = await fresh();
      const queue = queueName();
      const type = `consorcio.conformance.v1.Early${randomUUID().slice(0, 8)}`;
      await bus.declare([{ queue, bindings: [type], maxAttempts: 3, retryDelayMs: 50 }]);
      const early = message(type, "early");
      await bus.publish([early]);
      const seen: IncomingMessage[] = [];
      await bus.subscribe({
        queue,
        bindings: [type],
        maxAttempts: 3,
        retryDelayMs: 50,
        handler: async (m) => void seen.push(m),
      });
      await eventually(async () => seen.length === 1);
      expect(seen[0]?.id).toBe(early.id);
    });

    test("routes by topic to every bound queue and to no other", async () => {
      const bus = await fresh();
      const suffix = randomUUID().slice(0, 8);
      const typeA = `consorcio.conformance.v1.A${suffix}`;
      const typeB = `consorcio.conformance.v1.B${suffix}`;
      const seen: Record<string, IncomingMessage[]> = { exact: [], wildcard: [], other: [] };
      const subscribe = (key: keyof typeof seen, bindings: string[]) =>
        bus.subscribe({
          queue: queueName(),
          bindings,
          maxAttempts: 3,
          retryDelayMs: 50,
          handler: async (m) => void seen[key]?.push(m),
        });
      await subscribe("exact", [typeA]);
      await subscribe("wildcard", ["consorcio.conformance.#"]);
      await subscribe("other", ["consorcio.outro.#"]);
      const sent = message(typeA, "hello");
      await bus.publish([sent, message(typeB)]);
      await eventually(async () => seen.exact?.length === 1 && seen.wildcard?.length === 2);
      const got = seen.exact?.[0];
      expect(got?.id).toBe(sent.id);
      expect(got?.type).toBe(typeA);
      expect(new TextDecoder().decode(got?.body)).toBe("hello");
      expect(got?.headers["correlation-id"]).toBe("corr-1");
      expect(got?.timestamp.getTime()).toBe(sent.timestamp.getTime());
      expect(got?.attempt).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen.other).toHaveLength(0);
      expect(seen.exact).toHaveLength(1);
    });

    test("retries a failing handler after a delay until it succeeds", async () => {
      const bus = await fresh();
      const type = `consorcio.conformance.v1.Retry${randomUUID().slice(0, 8)}`;
      const attempts: Array<{ attempt: number; at: number }> = [];
      await bus.subscribe({
        queue: queueName(),
        bindings: [type],
        maxAttempts: 5,
        retryDelayMs: 100,
        handler: async (m) => {
          attempts.push({ attempt: m.attempt, at: Date.now() });
          if (attempts.length < 3) throw new Error("not yet");
        },
      });
      await bus.publish([message(type)]);
      await eventually(async () => attempts.length === 3);
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      // 100 ms then 200 ms of back-off, give or take the broker's TTL granularity.
      expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(80);
      expect((attempts[2]?.at ?? 0) - (attempts[1]?.at ?? 0)).toBeGreaterThanOrEqual(160);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(attempts).toHaveLength(3);
    });

    test("dead-letters a message after maxAttempts and keeps it for inspection", async () => {
      const bus = await fresh();
      const queue = queueName();
      const type = `consorcio.conformance.v1.Poison${randomUUID().slice(0, 8)}`;
      let deliveries = 0;
      await bus.subscribe({
        queue,
        bindings: [type],
        maxAttempts: 3,
        retryDelayMs: 30,
        handler: async () => {
          deliveries++;
          throw new Error("always fails");
        },
      });
      const sent = message(type, "poison");
      await bus.publish([sent]);
      const dead = await eventually(async () => {
        const taken = await bus.takeDeadLetters(queue);
        return taken.length > 0 ? taken : undefined;
      });
      expect(deliveries).toBe(3);
      expect(dead).toHaveLength(1);
      expect(dead[0]?.id).toBe(sent.id);
      expect(dead[0]?.attempt).toBe(3);
      expect(new TextDecoder().decode(dead[0]?.body)).toBe("poison");
      expect(await bus.takeDeadLetters(queue)).toHaveLength(0);
    });

    test("runs handlers outside the publisher's async context (its transaction must not leak in)", async () => {
      const bus = await fresh();
      const type = `consorcio.conformance.v1.Context${randomUUID().slice(0, 8)}`;
      const context = new AsyncLocalStorage<string>();
      const seen: Array<string | undefined> = [];
      await bus.subscribe({
        queue: queueName(),
        bindings: [type],
        maxAttempts: 1,
        retryDelayMs: 10,
        handler: async () => void seen.push(context.getStore()),
      });
      await context.run("publisher transaction", () => bus.publish([message(type)]));
      await eventually(async () => seen.length === 1);
      expect(seen).toEqual([undefined]);
    });

    test("refuses a second consumer on the same queue", async () => {
      const bus = await fresh();
      const queue = queueName();
      const options = { queue, bindings: ["x.y"], maxAttempts: 1, retryDelayMs: 10, handler: async () => {} };
      await bus.subscribe(options);
      await expect(bus.subscribe(options)).rejects.toThrow(/already/);
    });

    test("is healthy while open and not after close", async () => {
      const bus = await open();
      expect(bus.healthy()).toBe(true);
      await bus.close();
      expect(bus.healthy()).toBe(false);
    });
  });
}
