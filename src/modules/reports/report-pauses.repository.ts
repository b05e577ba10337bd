import type { Executor } from "../../platform/db/database.js";
import { listAuditEventsOf, type AuditEvent } from "../audit/index.js";
import { pausesFromTransitions, type PauseInterval } from "../sla/index.js";
import { REPORT_TRANSITIONED, type Report } from "./report.js";

/** The report's state changes, from its audit events in order; an unreadable entry is left out. */
export function transitionsOf(events: readonly AuditEvent[]): Array<{ at: string; from: string; to: string }> {
  const out: Array<{ at: string; from: string; to: string }> = [];
  for (const event of events) {
    if (event.action !== REPORT_TRANSITIONED) continue;
    try {
      const data = JSON.parse(event.data) as { from?: unknown; to?: unknown };
      if (typeof data.from === "string" && typeof data.to === "string") out.push({ at: event.at, from: data.from, to: data.to });
    } catch {
      // An unreadable entry places no pause; the clock then credits pausedMs as a whole.
    }
  }
  return out;
}

/**
 * The ended pauses of a report, from its audited state changes: the report row keeps only
 * their total wall time, and business-hours clocks need to know when they were. A report
 * that never waited for its reporter costs no query.
 */
export async function readPauses(db: Executor, report: Pick<Report, "id" | "pausedMs" | "needsInfoSince">): Promise<PauseInterval[]> {
  return (await readPausesOf(db, [report])).get(report.id) ?? [];
}

const IDS_PER_QUERY = 500;

/** `readPauses` for several reports, keyed by id (only those that paused), a query per 500 of them. */
export async function readPausesOf(db: Executor, reports: ReadonlyArray<Pick<Report, "id" | "pausedMs" | "needsInfoSince">>): Promise<Map<number, PauseInterval[]>> {
  const paused = reports.filter((report) => report.pausedMs > 0);
  const eventsOf = new Map<string, AuditEvent[]>(paused.map((report) => [String(report.id), []]));
  const ids = [...eventsOf.keys()];
  // In chunks: a statement takes at most 32,766 parameters on SQLite, and the metrics read
  // every report of 90 days.
  for (let start = 0; start < ids.length; start += IDS_PER_QUERY) {
    for (const event of await listAuditEventsOf(db, "report", ids.slice(start, start + IDS_PER_QUERY), REPORT_TRANSITIONED)) eventsOf.get(event.subject_id)?.push(event);
  }
  return new Map(paused.map((report) => [report.id, pausesFromTransitions(transitionsOf(eventsOf.get(String(report.id))!), report)]));
}
