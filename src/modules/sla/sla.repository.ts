import type { Executor, Tx } from "../../platform/db/database.js";
import type { SlaTarget } from "./sla.js";

export type AlertKind = "warning" | "missed";

/**
 * Records that an alert goes out, inside the transaction that enqueues it. The unique
 * key (report, target, kind) makes this succeed for exactly one caller, whichever
 * process gets there first; the others get false and send nothing.
 */
export async function claimAlert(tx: Tx, alert: { reportId: number; target: SlaTarget; kind: AlertKind; dueAt: string; at: string }): Promise<boolean> {
  const row = await tx
    .insertInto("sla_alerts")
    .values({ report_id: alert.reportId, target: alert.target, kind: alert.kind, due_at: alert.dueAt, created_at: alert.at })
    .onConflict((oc) => oc.columns(["report_id", "target", "kind"]).doNothing())
    .returning("id")
    .executeTakeFirst();
  return row !== undefined;
}

/** The alerts already sent for these reports, as `reportId:target:kind` keys. */
export async function listSentAlerts(db: Executor, reportIds: number[]): Promise<Set<string>> {
  if (reportIds.length === 0) return new Set();
  const rows = await db.selectFrom("sla_alerts").select(["report_id", "target", "kind"]).where("report_id", "in", reportIds).execute();
  return new Set(rows.map((r) => alertKey(r.report_id, r.target, r.kind)));
}

export function alertKey(reportId: number, target: string, kind: string): string {
  return `${reportId}:${target}:${kind}`;
}
