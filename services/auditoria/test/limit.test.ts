import { Code } from "@connectrpc/connect";
import { describe, expect, test } from "vitest";
import { concurrencyLimit } from "../src/limit.ts";

function deferred() {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("concurrencyLimit", () => {
  test("runs at most max tasks at once, the others in order as slots free", async () => {
    const limit = concurrencyLimit(2);
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    const done = gates.map((gate, i) =>
      limit(async () => {
        started.push(i);
        await gate.promise;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    gates[1]?.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    for (const gate of gates) gate.resolve();
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4]);
  });

  test("a failing task frees its slot", async () => {
    const limit = concurrencyLimit(1);
    await expect(limit(async () => Promise.reject(new Error("x")))).rejects.toThrow("x");
    expect(await limit(async () => 7)).toBe(7);
  });

  test("a call cancelled while waiting leaves the queue and never runs", async () => {
    const limit = concurrencyLimit(1);
    const gate = deferred();
    const running = limit(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const waiting = limit(async () => {
      ran = true;
    }, controller.signal);
    const next = limit(async () => "next");
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: Code.Canceled });
    gate.resolve();
    await running;
    expect(await next).toBe("next");
    expect(ran).toBe(false);
  });
});
