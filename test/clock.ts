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

/**
 * A clock that runs with the machine's and can be set forward: for browser tests, where
 * the browser's cookies and a member's authenticator live in real time while Shield's
 * days (embargoes, scheduled publication) have to pass at once.
 */
export class ShiftedClock implements Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** From now on the clock reads `to`, and keeps running from there. */
  set(to: string | Date): void {
    this.offsetMs = new Date(to).getTime() - Date.now();
  }
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
