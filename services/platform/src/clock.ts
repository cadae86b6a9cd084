/**
 * The time business decisions are made with (expiries, due dates, retention). Application code
 * reads `context.clock.now()` and hands it to domain functions, so tests can move time instead
 * of sleeping. Platform timers (back-off, polling, log timestamps) stay on real time.
 */
export interface Clock {
  now(): Date;
  /**
   * Only clocks that jump (tests): calls `listener` after each move, so the job scheduler looks
   * at once for what became due. The returned promise of a move waits for the listeners.
   */
  onChange?(listener: () => Promise<void> | void): () => void;
}

export const systemClock: Clock = { now: () => new Date() };

export interface TestClock extends Clock {
  /** Moves to `date` (backwards too); resolves once the jobs this made due have run. */
  set(date: Date): Promise<void>;
  /** Moves forward by `ms`; resolves once the jobs this made due have run. */
  advance(ms: number): Promise<void>;
  onChange(listener: () => Promise<void> | void): () => void;
}

/** A clock standing still at `start` until the test moves it. */
export function createTestClock(start: Date = new Date()): TestClock {
  let current = start.getTime();
  const listeners = new Set<() => Promise<void> | void>();
  const moved = async () => {
    await Promise.all([...listeners].map((listener) => listener()));
  };
  return {
    now: () => new Date(current),
    set(date) {
      current = date.getTime();
      return moved();
    },
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError("a test clock only moves forward by ms >= 0");
      current += ms;
      return moved();
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
