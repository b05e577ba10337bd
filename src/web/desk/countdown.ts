/**
 * How a service-level clock reads on the desk: "3 h 12 min left", "missed 20 min ago",
 * "paused", "met". Pure and free of Node and DOM, so the server renders the first text
 * and the browser module (src/web/client/desk.ts) keeps it ticking with the same words.
 */

export type CountdownState = "running" | "paused" | "met" | "missed";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A span in the two largest units that matter: "2 d 5 h", "3 h 12 min", "12 min", "40 s". */
export function describeSpan(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= DAY) {
    const days = Math.floor(abs / DAY);
    const hours = Math.floor((abs % DAY) / HOUR);
    return hours ? `${days} d ${hours} h` : `${days} d`;
  }
  if (abs >= HOUR) {
    const hours = Math.floor(abs / HOUR);
    const minutes = Math.floor((abs % HOUR) / MINUTE);
    return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
  }
  if (abs >= MINUTE) return `${Math.floor(abs / MINUTE)} min`;
  return `${Math.floor(abs / 1000)} s`;
}

/**
 * The words for one clock at `nowMs`. A running clock whose due time has passed reads as
 * missed even before the server says so: the page may have been open for a while.
 */
export function describeCountdown(state: CountdownState, dueAt: string | null, nowMs: number): string {
  if (state === "met") return "met";
  if (state === "paused") return "paused";
  if (dueAt === null) return state === "missed" ? "missed" : "running";
  const left = Date.parse(dueAt) - nowMs;
  if (left > 0 && state === "running") return `${describeSpan(left)} left`;
  return `missed ${describeSpan(-left)} ago`;
}

/** Whether the clock is close to or past its miss: the desk highlights these. */
export function urgencyOf(state: CountdownState, dueAt: string | null, nowMs: number): "missed" | "soon" | "ok" | "stopped" {
  if (state === "met" || state === "paused") return "stopped";
  if (state === "missed" || dueAt === null) return state === "missed" ? "missed" : "ok";
  const left = Date.parse(dueAt) - nowMs;
  if (left <= 0) return "missed";
  return left <= 4 * HOUR ? "soon" : "ok";
}
