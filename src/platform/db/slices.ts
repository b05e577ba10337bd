import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * `items` in slices of `size`, with a turn of the event loop before every slice after the
 * first. For long work over many rows in the server process (the minute check, the
 * metrics, recomputing deadlines): on SQLite every query settles at once (the driver is
 * synchronous), so a loop of awaited queries would otherwise answer no request until it ended.
 */
export async function* slicesWithTurns<T>(items: readonly T[], size: number): AsyncGenerator<T[]> {
  for (let start = 0; start < items.length; start += size) {
    if (start > 0) await nextTurn();
    yield items.slice(start, start + size);
  }
}

export { nextTurn };
