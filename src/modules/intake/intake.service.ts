import { z } from "zod";
import type { Db, Tx } from "../../platform/db/database.js";
import { generateSecret, hashSecret } from "../../platform/crypto/secrets.js";
import type { GroupCommit } from "../../platform/db/group-commit.js";
import { defineJob, enqueueAtCommit } from "../../platform/jobs/job.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import { queueAuditEvent } from "../audit/index.js";
import { validateReporterKey } from "../keys/index.js";
import { insertReport, type Report } from "../reports/index.js";
import type { SettingsReader } from "../settings/index.js";
import type { SubmitReportBody } from "./intake.schemas.js";

/**
 * The automatic receipt of one report. The tracking token rides in a `secret*` field,
 * sealed, until the mail is sent, then is dropped (so a finished job's payload has none).
 */
export const RECEIPT_JOB = defineJob({
  kind: "mail.receipt",
  payload: z.object({ reportId: z.number().int().positive(), secretTrackingToken: z.string().optional() }),
});

/** What storing a report needs: the database, the clock, and where to announce it. */
export interface IntakeDeps {
  db: Db;
  clock: Clock;
  events: Events;
  /** The process's one group committer for new reports (made in main.ts): reports submitted at the same moment share a commit. */
  reportCommits: GroupCommit;
  /** The program settings: a report is stored under the terms they give at its arrival. */
  settings: SettingsReader;
}

/** Every door of the public intake (API, web form) counts against one limit per client address. */
export const INTAKE_RATE_LIMIT_GROUP = "intake";

export interface SubmittedReport {
  report: Report;
  /** The reporter's secret; returned once, stored only as a hash. */
  trackingToken: string;
}

export function trackingUrlFor(baseUrl: string, token: string): string {
  return `${baseUrl}/security/reports/${token}`;
}

export interface SubmitOptions {
  /**
   * Runs inside the report's transaction, before the commit: the web form records its
   * attachments and its one-time confirmation here, so they exist exactly when the report does.
   */
  onStored?: (tx: Tx, report: Report, trackingToken: string) => Promise<void>;
  /**
   * Who submitted it (the client address): the report's receipt and notice take turns with
   * other senders' in the outbox, so one client flooding the intake delays only itself.
   */
  sender?: string;
  /**
   * False for mail that must not be answered automatically (RFC 3834: auto-submitted,
   * bulk and list mail, the null sender, Shield's own addresses): the report is stored
   * and its clocks run, but no receipt goes out.
   */
  sendReceipt?: boolean;
}

/**
 * Stores a new report durably. The report, its audit event and its receipt job commit
 * in one transaction; only when this resolves may Shield tell the reporter it has it.
 * Reports submitted at the same moment share that commit (group commit, see
 * platform/db/group-commit.ts), each still all or nothing.
 * The tracking token rides in the receipt job until the mail is sent, then is dropped.
 */
export async function submitReport(deps: IntakeDeps, input: SubmitReportBody, source: Report["source"], options: SubmitOptions = {}): Promise<SubmittedReport> {
  const trackingToken = generateSecret(32);
  const now = deps.clock.now();
  const at = now.toISOString();
  const anonymous = input.credit?.anonymous === true || (!input.credit?.name && !input.credit?.url);
  // Checked before the transaction: a key we could not encrypt to is refused, not stored.
  // Against the real time, not the clock: the mail is encrypted in the real world.
  const reporterPgpKey = input.reporter.pgpKey?.trim() ? input.reporter.pgpKey : null;
  if (reporterPgpKey) await validateReporterKey(reporterPgpKey);
  const report = await deps.reportCommits.run(async (tx) => {
    const report = await insertReport(
      tx,
      deps.settings,
      {
        channel: input.channel,
        state: "new",
        source,
        title: input.title,
        description: input.description,
        steps: input.steps ?? null,
        impact: input.impact ?? null,
        asset: input.asset ?? null,
        reporterName: input.reporter.name,
        reporterEmail: input.reporter.email,
        reporterPgpKey,
        creditName: anonymous ? null : (input.credit?.name ?? input.reporter.name),
        creditUrl: anonymous ? null : (input.credit?.url ?? null),
        aiUsed: input.aiUsed ?? null,
        receivedAt: at,
        updatedAt: at,
      },
      hashSecret(trackingToken),
      // Rows that onStored writes refer to the report's: then it is inserted at once.
      { atCommit: !options.onStored },
    );
    // The event and the jobs are written with the batch's others just before its commit.
    await queueAuditEvent(tx, { kind: "public" }, { action: "report.received", subjectType: "report", subjectId: String(report.id), data: { channel: report.channel, source } }, at);
    const fairnessKey = options.sender === undefined ? undefined : `client:${options.sender}`;
    if (options.sendReceipt !== false) await enqueueAtCommit(tx, RECEIPT_JOB, { reportId: report.id, secretTrackingToken: trackingToken }, now, { fairnessKey });
    // An account under attack pages the team: what follows from it goes before any backlog.
    await deps.events.publish(tx, "report.received", { reportId: report.id }, now, { fairnessKey, urgent: report.channel === "account_attack", atCommit: true });
    await options.onStored?.(tx, report, trackingToken);
    return report;
  });
  return { report, trackingToken };
}
