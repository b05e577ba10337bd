import type { Executor } from "../../platform/db/database.js";
import { listAuditEventsOf, type AuditEvent } from "../audit/index.js";
import { REPORT_TRANSITIONED, type Report } from "../reports/report.js";
import { pausesFromTransitions, type PauseInterval } from "./sla.js";

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

/** `readPauses` for several reports, keyed by id (only those that paused), in one query. */
export async function readPausesOf(db: Executor, reports: ReadonlyArray<Pick<Report, "id" | "pausedMs" | "needsInfoSince">>): Promise<Map<number, PauseInterval[]>> {
  const paused = reports.filter((report) => report.pausedMs > 0);
  const eventsOf = new Map<string, AuditEvent[]>(paused.map((report) => [String(report.id), []]));
  for (const event of await listAuditEventsOf(db, "report", [...eventsOf.keys()], REPORT_TRANSITIONED)) eventsOf.get(event.subject_id)?.push(event);
  return new Map(paused.map((report) => [report.id, pausesFromTransitions(transitionsOf(eventsOf.get(String(report.id))!), report)]));
}
