import type { Executor } from "../../platform/db/database.js";

export async function readLastEscalation(db: Executor, reportId: number): Promise<string | null> {
  const row = await db.selectFrom("report_escalations").select("last_escalated_at").where("report_id", "=", reportId).executeTakeFirst();
  return row?.last_escalated_at ?? null;
}

/** The reporter's escalations of these reports, for the team: when the last one was and how many. */
export async function listEscalationsOf(db: Executor, reportIds: readonly number[]): Promise<Map<number, { lastEscalatedAt: string; count: number }>> {
  if (reportIds.length === 0) return new Map();
  const rows = await db.selectFrom("report_escalations").select(["report_id", "last_escalated_at", "count"]).where("report_id", "in", [...reportIds]).execute();
  return new Map(rows.map((r) => [r.report_id, { lastEscalatedAt: r.last_escalated_at, count: Number(r.count) }]));
}

/**
 * Records an escalation unless one happened after `notBefore`. One statement (insert,
 * or update guarded by the previous time), so two presses at the same moment, even in
 * two processes, page the team once.
 * @returns whether this escalation was recorded
 */
export async function stampEscalation(db: Executor, reportId: number, at: string, notBefore: string): Promise<boolean> {
  const row = await db
    .insertInto("report_escalations")
    .values({ report_id: reportId, last_escalated_at: at, count: 1 })
    .onConflict((oc) =>
      oc
        .column("report_id")
        .doUpdateSet((eb) => ({ last_escalated_at: at, count: eb("report_escalations.count", "+", 1) }))
        .where("report_escalations.last_escalated_at", "<=", notBefore),
    )
    .returning("report_id")
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertConfirmation(db: Executor, values: { idHash: string; reportId: number; sealedToken: string; expiresAt: string }): Promise<void> {
  await db
    .insertInto("report_confirmations")
    .values({ id_hash: values.idHash, report_id: values.reportId, sealed_token: values.sealedToken, expires_at: values.expiresAt })
    .execute();
}

/** Removes and returns a confirmation: it can be read once. */
export async function takeConfirmation(db: Executor, idHash: string): Promise<{ reportId: number; sealedToken: string; expiresAt: string } | undefined> {
  const row = await db.deleteFrom("report_confirmations").where("id_hash", "=", idHash).returningAll().executeTakeFirst();
  return row && { reportId: row.report_id, sealedToken: row.sealed_token, expiresAt: row.expires_at };
}

export async function deleteExpiredConfirmations(db: Executor, now: string): Promise<void> {
  await db.deleteFrom("report_confirmations").where("expires_at", "<", now).execute();
}
