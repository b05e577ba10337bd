import type { Executor } from "../../platform/db/database.js";

/** Marks a report and its attachments as encrypted in the reporter's browser, inside the submission's transaction. */
export async function markBrowserEncrypted(tx: Executor, reportId: number, attachmentIds: number[]): Promise<void> {
  await tx.updateTable("reports").set({ browser_encrypted: 1 }).where("id", "=", reportId).execute();
  if (attachmentIds.length) await tx.updateTable("attachments").set({ browser_encrypted: 1 }).where("id", "in", attachmentIds).execute();
}

export async function isReportBrowserEncrypted(db: Executor, reportId: number): Promise<boolean> {
  const row = await db.selectFrom("reports").select("browser_encrypted").where("id", "=", reportId).executeTakeFirst();
  return Number(row?.browser_encrypted ?? 0) === 1;
}
