import { describe, expect, test } from "vitest";
import { createTestClock, systemClock } from "../src/clock.ts";

describe("clock", () => {
  test("the system clock tells the real time", () => {
    const before = Date.now();
    const now = systemClock.now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  test("a test clock stands still until moved, and hands out copies", () => {
    const clock = createTestClock(new Date("2030-01-01T00:00:00Z"));
    const first = clock.now();
    first.setFullYear(1999);
    expect(clock.now().toISOString()).toBe("2030-01-01T00:00:00.000Z");
  });

  test("set and advance move it; advance refuses to go back", async () => {
    const clock = createTestClock(new Date("2030-01-01T00:00:00Z"));
    await clock.advance(90_000);
    expect(clock.now().toISOString()).toBe("2030-01-01T00:01:30.000Z");
    await clock.set(new Date("2029-06-01T12:00:00Z"));
    expect(clock.now().toISOString()).toBe("2029-06-01T12:00:00.000Z");
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(clock.now().toISOString()).toBe("2029-06-01T12:00:00.000Z");
  });

  test("a move resolves only after its listeners finished, and an unsubscribed one is not called", async () => {
    const clock = createTestClock(new Date("2030-01-01T00:00:00Z"));
    const seen: string[] = [];
    clock.onChange(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen.push(clock.now().toISOString());
    });
    const off = clock.onChange(() => {
      seen.push("removed");
    });
    off();
    await clock.advance(1_000);
    expect(seen).toEqual(["2030-01-01T00:00:01.000Z"]);
  });
});
