import { PermanentJobError } from "../../platform/jobs/job.js";
import { inThread, type MailJobDeps, type MailThread } from "../../platform/mail/mailer.js";
import { encryptionFor } from "../keys/index.js";
import type { Settings, SettingsReader } from "../settings/index.js";
import { subjectSafe, type Report } from "./report.js";
import { findReport } from "./report.repository.js";

/** What every mail about a report needs: the report, today's settings, and the reporter's e-mail thread (null: not by e-mail). */
export interface ReportMailContext {
  report: Report;
  settings: Settings;
  thread: MailThread | null;
}

/** What a job that mails a reporter needs: the mail dependencies and the program settings (sender, signature). */
export interface ReportMailDeps extends MailJobDeps {
  settings: SettingsReader;
}

/**
 * The report a job mails about, read when the job runs.
 * @throws PermanentJobError when the report is gone: no retry brings it back.
 */
export async function loadReportMail(deps: ReportMailDeps, reportId: number): Promise<ReportMailContext> {
  const report = await findReport(deps.db, reportId);
  if (!report) throw new PermanentJobError(`report ${reportId} is gone`);
  const settings = await deps.settings.get();
  const thread = (await deps.threadOfReport?.(report.id)) ?? null;
  return { report, settings, thread };
}

/** Whom Shield's mail comes from: SHIELD_MAIL_FROM, or the program's security address. */
export function senderOf(deps: Pick<MailJobDeps, "mailFrom">, settings: Pick<Settings, "securityEmail">): string {
  return deps.mailFrom ?? settings.securityEmail;
}

/** The program's signature under every mail to a reporter. */
export function signatureOf(settings: Pick<Settings, "programName" | "companyName" | "securityEmail">): string[] {
  return ["-- ", `${settings.programName}, ${settings.companyName}`, settings.securityEmail];
}

/** How a mail to the reporter tells them where to answer: their mail thread, or the tracking link from their receipt. */
export function whereToAnswer(thread: MailThread | null): string {
  return thread ? "Answer this e-mail to reply, or follow the report with the link from your receipt." : "Follow the report with the link from your receipt e-mail.";
}

/**
 * Sends one mail to the reporter about their report: from the program, encrypted when
 * they gave a key, in their e-mail thread when they wrote by mail, with the program's
 * signature. The subject is `[#id] <what>: <title>`. `key` names the mail (a retried job
 * writes the same one again).
 */
export async function sendReporterMail(
  deps: MailJobDeps,
  { report, settings, thread }: ReportMailContext,
  mail: { what: string; lines: string[]; headers?: Record<string, string>; key: string },
): Promise<void> {
  await deps.mailer.send(
    inThread(
      {
        from: senderOf(deps, settings),
        to: report.reporterEmail,
        encryptTo: encryptionFor(report),
        subject: `[#${report.id}] ${mail.what}: ${subjectSafe(report.title)}`,
        text: [`Hello ${report.reporterName},`, "", ...mail.lines, "", ...signatureOf(settings)].join("\n"),
        headers: mail.headers,
      },
      thread,
    ),
    mail.key,
  );
}
