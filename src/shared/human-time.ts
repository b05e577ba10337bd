/**
 * Times and counts written for people: in a named time zone, with nouns that agree with
 * their counts. Pure.
 */

/** "1 minute", "5 minutes". */
export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * An instant to the minute in `timeZone`, the zone named: "Mon 2 Mar 2026, 10:05 CET
 * (Europe/Berlin)"; in UTC "Mon 2 Mar 2026, 09:05 UTC". The abbreviation alone can be
 * ambiguous or only an offset ("GMT-5"), so the IANA name follows it.
 */
export function formatInstantIn(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = instantFormatIn(timeZone).formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  const text = `${part("weekday")} ${part("day")} ${part("month")} ${part("year")}, ${part("hour")}:${part("minute")} ${part("timeZoneName")}`;
  return timeZone === "UTC" || timeZone === "Etc/UTC" ? text : `${text} (${timeZone})`;
}

/**
 * Making an `Intl.DateTimeFormat` takes about 0.2–0.3 ms here (formatting with one, 0.02 ms),
 * which every team notice paid: one per time zone is kept. Zones are a short, fixed list.
 */
const instantFormats = new Map<string, Intl.DateTimeFormat>();

function instantFormatIn(timeZone: string): Intl.DateTimeFormat {
  let format = instantFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-GB", {
      timeZone,
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
    });
    instantFormats.set(timeZone, format);
  }
  return format;
}

/** A span of whole minutes as one unit a person reads at a glance: "1 minute", "3 hours", "2 days". */
export function describeElapsedMinutes(minutes: number): string {
  const m = Math.max(0, Math.round(minutes));
  if (m < 120) return countOf(m, "minute");
  if (m < 48 * 60) return countOf(Math.floor(m / 60), "hour");
  return countOf(Math.floor(m / (24 * 60)), "day");
}
