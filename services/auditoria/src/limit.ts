import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Runs at most `max` tasks at once; the others wait their turn in order, and leave the queue
 * when their call is cancelled. Each read of the log holds a batch of records in memory.
 */
export function concurrencyLimit(max: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    if (running < max) running++;
    else {
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal?.removeEventListener("abort", cancel);
          resolve();
        };
        const cancel = () => {
          waiting.splice(waiting.indexOf(turn), 1);
          reject(new ConnectError("cancelled while waiting", Code.Canceled));
        };
        if (signal?.aborted) return cancel();
        waiting.push(turn);
        signal?.addEventListener("abort", cancel, { once: true });
      });
    }
    try {
      return await task();
    } finally {
      // The slot passes to the next in line, or is freed.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
