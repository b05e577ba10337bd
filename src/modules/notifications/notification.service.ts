import { z } from "zod";
import type { Db, Executor, Tx } from "../../platform/db/database.js";
import { runInTransaction, type GroupCommit } from "../../platform/db/group-commit.js";
import { defineSubscriber } from "../../platform/jobs/events.js";
import { defineJob, enqueue, handleJob, type JobHandlerEntry } from "../../platform/jobs/job.js";
import { DOMAIN_EVENTS, type DomainEventPayload } from "../../shared/events.js";
import type { Clock } from "../../shared/clock.js";
import { findUserById, listUsers, type TeamMember } from "../people/index.js";
import { findReport, type Report } from "../reports/index.js";
import type { SettingsReader } from "../settings/index.js";
import { isUrgent, type TeamNotice } from "./notice.js";

const reportId = z.number().int().positive();
const slaTarget = z.enum(["firstResponse", "triage", "resolution"]);
const teamNotice: z.ZodType<TeamNotice> = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("report_received") }),
  z.object({ kind: z.literal("account_attack") }),
  z.object({ kind: z.literal("sla_warning"), target: slaTarget, dueAt: z.string() }),
  z.object({ kind: z.literal("sla_missed"), target: slaTarget, dueAt: z.string() }),
  z.object({ kind: z.literal("reporter_reply"), messageId: z.number().int() }),
  z.object({ kind: z.literal("owner_assigned"), by: z.string() }),
  z.object({ kind: z.literal("escalated"), escalatedAt: z.string(), firstResponseDue: z.string() }),
]);

/** One e-mail to one team member (`userId`; null: the program's security address). */
export const TEAM_MAIL_JOB = defineJob({ kind: "mail.team_notice", payload: z.object({ userId: z.number().int().nullable(), reportId, notice: teamNotice }) });
/** One post to the team's Slack-compatible webhook. */
export const WEBHOOK_JOB = defineJob({ kind: "webhook.team_notice", payload: z.object({ reportId, notice: teamNotice }) });

/**
 * What the team hears of, as subscribers to domain events: each becomes one job that fans
 * the notice out to one mail job per member (and a webhook job where it pages), so one
 * failing address does not resend the others.
 */
export const NOTIFY_REPORT_RECEIVED = defineSubscriber(DOMAIN_EVENTS, "report.received", "team-notices");
export const NOTIFY_CHANNEL_CHANGED = defineSubscriber(DOMAIN_EVENTS, "report.channel_changed", "team-notices");
export const NOTIFY_REPORTER_REPLIED = defineSubscriber(DOMAIN_EVENTS, "report.reporter_replied", "team-notices");
export const NOTIFY_ESCALATED = defineSubscriber(DOMAIN_EVENTS, "report.escalated", "team-notices");
export const NOTIFY_OWNER_ASSIGNED = defineSubscriber(DOMAIN_EVENTS, "report.owner_assigned", "team-notices");
export const NOTIFY_SLA_WARNED = defineSubscriber(DOMAIN_EVENTS, "sla.warned", "team-notices");
export const NOTIFY_SLA_MISSED = defineSubscriber(DOMAIN_EVENTS, "sla.missed", "team-notices");

export const NOTIFICATION_SUBSCRIBERS = [
  NOTIFY_REPORT_RECEIVED,
  NOTIFY_CHANNEL_CHANGED,
  NOTIFY_REPORTER_REPLIED,
  NOTIFY_ESCALATED,
  NOTIFY_OWNER_ASSIGNED,
  NOTIFY_SLA_WARNED,
  NOTIFY_SLA_MISSED,
] as const;

/**
 * Jobs an earlier version enqueued directly, still handled so that none waiting at an
 * upgrade is dropped: the report-received fan-out and the escalation's one mail and post.
 */
const LEGACY_REPORT_RECEIVED_JOB = defineJob({ kind: "notify.report_received", payload: z.object({ reportId }) });
const legacyEscalation = z.object({ reportId, escalatedAt: z.string(), firstResponseDue: z.string() });
const LEGACY_ESCALATION_MAIL_JOB = defineJob({ kind: "mail.escalation", payload: legacyEscalation });
const LEGACY_ESCALATION_WEBHOOK_JOB = defineJob({ kind: "webhook.escalation", payload: legacyEscalation });

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
async function enqueueTeamMails(tx: Tx, members: TeamMember[], reportId: number, notice: TeamNotice, at: Date): Promise<void> {
  const userIds = members.length ? [...new Set(members.map((m) => m.id))] : [null];
  for (const userId of userIds) await enqueue(tx, TEAM_MAIL_JOB, { userId, reportId, notice }, at, { urgent: isUrgent(notice) });
}

/** A webhook post, when the settings name a webhook. */
async function enqueueWebhook(tx: Tx, settings: SettingsReader, reportId: number, notice: TeamNotice, at: Date): Promise<void> {
  if (!(await settings.get(tx)).webhookUrl) return;
  await enqueue(tx, WEBHOOK_JOB, { reportId, notice }, at, { urgent: isUrgent(notice) });
}

export interface NotificationDeps {
  db: Db;
  clock: Clock;
  /** The program settings: whether a webhook is set. */
  settings: SettingsReader;
  /** Where fan-outs run at the same moment (the worker runs a few jobs at once) share a commit; none: one commit each. */
  jobCommits?: GroupCommit;
}

/**
 * Runs one fan-out in its own transaction, for a report that still exists.
 * A report deleted meanwhile has nobody to tell about.
 */
function fanOut(deps: NotificationDeps, id: number, run: (tx: Tx, report: Report, at: Date) => Promise<void>): Promise<void> {
  return runInTransaction(deps.db, deps.jobCommits, async (tx) => {
    const report = await findReport(tx, id);
    if (report) await run(tx, report, deps.clock.now());
  });
}

/** A new report: a mail to every admin and triager; an account under attack is urgent and also posted to the webhook (it pages). */
async function tellOfNewReport(tx: Tx, settings: SettingsReader, report: Pick<Report, "id" | "channel">, at: Date): Promise<void> {
  const notice: TeamNotice = report.channel === "account_attack" ? { kind: "account_attack" } : { kind: "report_received" };
  await enqueueTeamMails(tx, await listTeam(tx), report.id, notice, at);
  if (notice.kind === "account_attack") await enqueueWebhook(tx, settings, report.id, notice, at);
}

async function tellOfEscalation(tx: Tx, settings: SettingsReader, payload: DomainEventPayload<"report.escalated">, at: Date): Promise<void> {
  const notice: TeamNotice = { kind: "escalated", escalatedAt: payload.escalatedAt, firstResponseDue: payload.firstResponseDue };
  await enqueueTeamMails(tx, await listTeam(tx), payload.reportId, notice, at);
  await enqueueWebhook(tx, settings, payload.reportId, notice, at);
}

async function nameOf(tx: Tx, by: DomainEventPayload<"report.owner_assigned">["by"]): Promise<string> {
  if (by.kind === "cli") return "An admin (command line)";
  if (by.kind === "user" && by.userId != null) return (await findUserById(tx, by.userId))?.name ?? by.email ?? "A team member";
  return "Shield";
}

/** The handlers of the notifications' subscribers and of the mail and webhook jobs they fan out to (see team-mail.job.ts, webhook.job.ts). */
export function createNotificationSubscribers(deps: NotificationDeps): JobHandlerEntry[] {
  return [
    handleJob(NOTIFY_REPORT_RECEIVED.job, ({ reportId }) => fanOut(deps, reportId, (tx, report, at) => tellOfNewReport(tx, deps.settings, report, at))),
    handleJob(LEGACY_REPORT_RECEIVED_JOB, ({ reportId }) => fanOut(deps, reportId, (tx, report, at) => tellOfNewReport(tx, deps.settings, report, at))),
    // Moved to an account under attack: the team is paged as for a new one.
    handleJob(NOTIFY_CHANNEL_CHANGED.job, ({ reportId, to }) =>
      to === "account_attack" ? fanOut(deps, reportId, (tx, report, at) => tellOfNewReport(tx, deps.settings, report, at)) : Promise.resolve(),
    ),
    // The reporter wrote: the owner hears of it (no owner: the team).
    handleJob(NOTIFY_REPORTER_REPLIED.job, ({ reportId, messageId }) =>
      fanOut(deps, reportId, async (tx, report, at) => enqueueTeamMails(tx, await ownerOrTeam(tx, report.ownerId), report.id, { kind: "reporter_reply", messageId }, at)),
    ),
    // Escalations page every member separately, and the webhook.
    handleJob(NOTIFY_ESCALATED.job, (payload) => fanOut(deps, payload.reportId, (tx, _report, at) => tellOfEscalation(tx, deps.settings, payload, at))),
    handleJob(LEGACY_ESCALATION_MAIL_JOB, (payload) =>
      fanOut(deps, payload.reportId, async (tx, _report, at) => enqueueTeamMails(tx, await listTeam(tx), payload.reportId, { kind: "escalated", ...payload }, at)),
    ),
    handleJob(LEGACY_ESCALATION_WEBHOOK_JOB, (payload) => fanOut(deps, payload.reportId, (tx, _report, at) => enqueueWebhook(tx, deps.settings, payload.reportId, { kind: "escalated", ...payload }, at))),
    // A new owner hears of it, unless they took the report themselves (or are gone).
    handleJob(NOTIFY_OWNER_ASSIGNED.job, ({ reportId, ownerId, by }) =>
      fanOut(deps, reportId, async (tx, report, at) => {
        if (by.kind === "user" && by.userId === ownerId) return;
        const owner = await findUserById(tx, ownerId);
        if (!owner || owner.disabledAt != null) return;
        await enqueueTeamMails(tx, [owner], report.id, { kind: "owner_assigned", by: await nameOf(tx, by) }, at);
      }),
    ),
    // Three quarters of a target used: the owner (no owner: the team).
    handleJob(NOTIFY_SLA_WARNED.job, ({ reportId, target, dueAt }) =>
      fanOut(deps, reportId, async (tx, report, at) => enqueueTeamMails(tx, await ownerOrTeam(tx, report.ownerId), report.id, { kind: "sla_warning", target, dueAt }, at)),
    ),
    // A missed target: the whole team, by mail and on the webhook.
    handleJob(NOTIFY_SLA_MISSED.job, ({ reportId, target, dueAt }) =>
      fanOut(deps, reportId, async (tx, report, at) => {
        const notice: TeamNotice = { kind: "sla_missed", target, dueAt };
        await enqueueTeamMails(tx, await listTeam(tx), report.id, notice, at);
        await enqueueWebhook(tx, deps.settings, report.id, notice, at);
      }),
    ),
  ];
}
