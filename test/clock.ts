import type { Clock } from "../src/shared/clock.js";

/** A clock that moves only when told to. */
export class FakeClock implements Clock {
  private current: number;

  constructor(start: string | Date = "2026-03-02T09:00:00.000Z") {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(to: string | Date): void {
    this.current = new Date(to).getTime();
  }
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
