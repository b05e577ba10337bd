import type { Executor, Tx } from "../../platform/db/database.js";
import { enqueueJob } from "../../platform/jobs/outbox.repository.js";
import { findUserById, listUsers, type TeamMember } from "../people/index.js";
import type { Actor } from "../audit/index.js";
import type { Report } from "../reports/index.js";
import type { SlaTarget } from "../sla/index.js";
import { isUrgent, type TeamNotice } from "./notice.js";

/** One e-mail to one team member (`userId`; null: the program's security address). */
export const TEAM_MAIL_JOB = "mail.team_notice";
/** One post to the team's Slack-compatible webhook. */
export const WEBHOOK_JOB = "webhook.team_notice";
/** Fans a new report out to the team: one mail each, and for an account attack the webhook too. */
export const REPORT_RECEIVED_NOTICE_JOB = "notify.report_received";

export interface TeamMailPayload {
  userId: number | null;
  reportId: number;
  notice: TeamNotice;
  [key: string]: unknown;
}

export interface WebhookPayload {
  reportId: number;
  notice: TeamNotice;
  [key: string]: unknown;
}

function isTeam(member: TeamMember): boolean {
  return member.disabledAt == null && (member.role === "admin" || member.role === "triager");
}

/** Every enabled admin and triager. */
export async function listTeam(db: Executor): Promise<TeamMember[]> {
  return (await listUsers(db)).filter(isTeam);
}

/** The report's owner when it has an enabled one, otherwise the whole team. */
async function ownerOrTeam(db: Executor, ownerId: number | null): Promise<TeamMember[]> {
  if (ownerId != null) {
    const owner = await findUserById(db, ownerId);
    if (owner && owner.disabledAt == null) return [owner];
  }
  return listTeam(db);
}

/**
 * Enqueues one mail job per member, inside the caller's transaction. With nobody to
 * tell (no team yet), the mail goes to the program's security address instead, so a
 * page is never dropped.
 */
async function enqueueTeamMails(tx: Tx, members: TeamMember[], reportId: number, notice: TeamNotice, at: Date): Promise<number> {
  const userIds = members.length ? [...new Set(members.map((m) => m.id))] : [null];
  for (const userId of userIds) {
    const payload: TeamMailPayload = { userId, reportId, notice };
    await enqueueJob(tx, TEAM_MAIL_JOB, payload, at, { urgent: isUrgent(notice) });
  }
  return userIds.length;
}

async function enqueueWebhook(tx: Tx, webhookUrl: string | null, reportId: number, notice: TeamNotice, at: Date): Promise<boolean> {
  if (!webhookUrl) return false;
  const payload: WebhookPayload = { reportId, notice };
  await enqueueJob(tx, WEBHOOK_JOB, payload, at, { urgent: isUrgent(notice) });
  return true;
}

function asDate(at: Date | string): Date {
  return typeof at === "string" ? new Date(at) : at;
}

/**
 * Tells the team that a report arrived: a mail to every admin and triager; an account
 * under attack is marked urgent and also posted to the webhook (it pages).
 */
export async function notifyTeamOfNewReport(tx: Tx, report: Pick<Report, "id" | "channel">, webhookUrl: string | null, at: Date): Promise<void> {
  const notice: TeamNotice = report.channel === "account_attack" ? { kind: "account_attack" } : { kind: "report_received" };
  await enqueueTeamMails(tx, await listTeam(tx), report.id, notice, at);
  if (notice.kind === "account_attack") await enqueueWebhook(tx, webhookUrl, report.id, notice, at);
}

/** Three quarters of a target are used: the owner hears of it (no owner: the team). Returns how many mails. */
export async function notifySlaWarning(tx: Tx, report: Pick<Report, "id" | "ownerId">, target: SlaTarget, dueAt: string, at: Date): Promise<number> {
  return enqueueTeamMails(tx, await ownerOrTeam(tx, report.ownerId), report.id, { kind: "sla_warning", target, dueAt }, at);
}

/** A target was missed: the whole team hears of it, by mail and on the webhook. */
export async function notifySlaMiss(
  tx: Tx,
  report: Pick<Report, "id">,
  target: SlaTarget,
  dueAt: string,
  webhookUrl: string | null,
  at: Date,
): Promise<{ mails: number; webhook: boolean }> {
  const notice: TeamNotice = { kind: "sla_missed", target, dueAt };
  const mails = await enqueueTeamMails(tx, await listTeam(tx), report.id, notice, at);
  return { mails, webhook: await enqueueWebhook(tx, webhookUrl, report.id, notice, at) };
}

/**
 * The reporter wrote: the owner hears of it (no owner: the team). Call inside the
 * transaction that stores the message, so the mail exists exactly when the message does.
 */
export async function notifyOwnerOfReporterReply(tx: Tx, report: Pick<Report, "id" | "ownerId">, messageId: number, at: Date | string): Promise<void> {
  await enqueueTeamMails(tx, await ownerOrTeam(tx, report.ownerId), report.id, { kind: "reporter_reply", messageId }, asDate(at));
}

/**
 * A member became a report's owner: they hear of it by mail, unless they took it
 * themselves. Call inside the transaction that changes the owner.
 */
export async function notifyNewOwner(tx: Tx, report: Pick<Report, "id">, ownerId: number, by: Actor, at: Date | string): Promise<number> {
  if (by.kind === "user" && by.userId === ownerId) return 0;
  const owner = await findUserById(tx, ownerId);
  if (!owner || owner.disabledAt != null) return 0;
  const byName = by.kind === "user" ? ((await findUserById(tx, by.userId))?.name ?? by.email) : by.kind === "cli" ? "An admin (command line)" : "Shield";
  return enqueueTeamMails(tx, [owner], report.id, { kind: "owner_assigned", by: byName }, asDate(at));
}
