import { WEEKDAYS, type BusinessCalendar } from "../settings/index.js";

/**
 * Business-hours arithmetic over a channel's calendar. Pure: time zones come from
 * `Intl` (Node ships the IANA database), so opening hours follow daylight-saving
 * changes: 09:00 in Europe/Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
 */

export const DAY_MS = 86_400_000;
/** How far ahead a deadline is searched: ten years of calendar days. Past it, there is none. */
const HORIZON_DAYS = 3700;

/** Half-open spans of time [start, end) in epoch milliseconds, ascending. */
export type Span = readonly [number, number];

/** The calendar made ready for many look-ups; one per settings object (see `compileCalendar`). */
export interface CompiledCalendar {
  /** The open hours of local day `dayNumber` (days since 1970-01-01), or null when closed. */
  openHoursOn(dayNumber: number): Span | null;
  /** The local day an instant falls on. */
  localDayNumber(ms: number): number;
}

const compiled = new WeakMap<BusinessCalendar, CompiledCalendar>();

/** Compiles once per settings object: the opening hours of each day are cached, so a check over many reports stays cheap. */
export function compileCalendar(calendar: BusinessCalendar): CompiledCalendar {
  let found = compiled.get(calendar);
  if (!found) {
    found = buildCalendar(calendar);
    compiled.set(calendar, found);
  }
  return found;
}

function minutesOfDay(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number) as [number, number];
  return h * 60 + m;
}

/**
 * A report's calendar comes from its stored terms, a new object per read, so it is compiled
 * anew for each report; making the zone's `Intl.DateTimeFormat` was most of that (about
 * 0.2 ms), so one per time zone is kept.
 */
const wallClockFormats = new Map<string, Intl.DateTimeFormat>();

function wallClockFormatIn(timeZone: string): Intl.DateTimeFormat {
  let format = wallClockFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    wallClockFormats.set(timeZone, format);
  }
  return format;
}

function buildCalendar(calendar: BusinessCalendar): CompiledCalendar {
  const format = wallClockFormatIn(calendar.timeZone);
  // ISO weekday numbers: 1 = Monday … 7 = Sunday.
  const workingDays = new Set(calendar.workingDays.map((d) => WEEKDAYS.indexOf(d) + 1));
  const holidays = new Set(calendar.holidays);
  const opens = minutesOfDay(calendar.opensAt);
  const closes = minutesOfDay(calendar.closesAt);
  const cache = new Map<number, Span | null>();

  /** The wall-clock time at `ms` in the zone, written as if it were UTC. */
  const wallAsUtc = (ms: number): number => {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(new Date(ms))) if (p.type !== "literal") parts[p.type] = Number(p.value);
    return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour! % 24, parts.minute!, parts.second!);
  };
  const offsetAt = (ms: number): number => wallAsUtc(ms) - Math.floor(ms / 1000) * 1000;

  /**
   * The instant a local wall time happens. Two passes settle the offset on either side
   * of a change; a wall time skipped by a spring-forward lands an hour later.
   */
  const instantOf = (dayNumber: number, minutes: number): number => {
    const local = dayNumber * DAY_MS + minutes * 60_000;
    const first = local - offsetAt(local);
    return local - offsetAt(first);
  };

  return {
    openHoursOn(dayNumber) {
      if (cache.has(dayNumber)) return cache.get(dayNumber)!;
      const date = new Date(dayNumber * DAY_MS);
      const isoWeekday = ((date.getUTCDay() + 6) % 7) + 1;
      const open = workingDays.has(isoWeekday) && !holidays.has(date.toISOString().slice(0, 10));
      const span: Span | null = open ? [instantOf(dayNumber, opens), instantOf(dayNumber, closes)] : null;
      cache.set(dayNumber, span);
      return span;
    },
    localDayNumber(ms) {
      return Math.floor(wallAsUtc(ms) / DAY_MS);
    },
  };
}

/** The open spans from `fromMs` on, in order; around the clock when there is no calendar. */
export function* openSpans(calendar: CompiledCalendar | null, fromMs: number): Generator<Span> {
  if (!calendar) {
    yield [fromMs, Number.POSITIVE_INFINITY];
    return;
  }
  // Start a day early: the local day of `fromMs` may begin before the UTC day does.
  const first = calendar.localDayNumber(fromMs) - 1;
  for (let day = first; day < first + HORIZON_DAYS; day++) {
    const span = calendar.openHoursOn(day);
    if (span && span[1] > fromMs) yield [Math.max(span[0], fromMs), span[1]];
  }
}

/** The spans in which a clock runs: open hours minus the pauses (sorted, merged). */
export function* runningSpans(calendar: CompiledCalendar | null, fromMs: number, pauses: readonly Span[]): Generator<Span> {
  for (const [start, end] of openSpans(calendar, fromMs)) {
    let cursor = start;
    for (const [pauseStart, pauseEnd] of pauses) {
      if (pauseEnd <= cursor) continue;
      if (pauseStart >= end) break;
      if (pauseStart > cursor) yield [cursor, pauseStart];
      cursor = Math.max(cursor, pauseEnd);
      if (cursor >= end) break;
    }
    if (cursor < end) yield [cursor, end];
  }
}

/** Running time between two instants. */
export function runningTimeBetween(calendar: CompiledCalendar | null, fromMs: number, toMs: number, pauses: readonly Span[]): number {
  let total = 0;
  if (toMs <= fromMs) return 0;
  for (const [start, end] of runningSpans(calendar, fromMs, pauses)) {
    if (start >= toMs) break;
    total += Math.min(end, toMs) - start;
    if (end >= toMs) break;
  }
  return total;
}

/** The instant at which `budgetMs` of running time has passed since `fromMs`, or null past the horizon. */
export function instantAfterRunning(calendar: CompiledCalendar | null, fromMs: number, budgetMs: number, pauses: readonly Span[]): number | null {
  let left = budgetMs;
  for (const [start, end] of runningSpans(calendar, fromMs, pauses)) {
    if (left <= end - start) return start + left;
    left -= end - start;
  }
  return null;
}

/** Sorts and merges overlapping spans, dropping empty ones. */
export function mergeSpans(spans: readonly Span[]): Span[] {
  const sorted = spans.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}
