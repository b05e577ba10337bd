import type { Db } from "../../platform/db/database.js";
import type { JobHandler } from "../../platform/jobs/worker.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import type { Clock } from "../../shared/clock.js";
import { findUserById } from "../people/index.js";
import { findReport, teamReportLink } from "../reports/index.js";
import { loadSettings } from "../settings/index.js";
import { composeTeamMail } from "./notice.js";
import { notifyTeamOfNewReport, type TeamMailPayload } from "./notification.service.js";

export interface TeamMailDeps {
  db: Db;
  mailer: Mailer;
  baseUrl: () => string;
  /** SHIELD_MAIL_FROM; default the program's security address. */
  mailFrom?: string;
}

/**
 * Sends one notice to one team member. The address is read when the mail goes out, so
 * a member who changed address gets it at the new one and a disabled one gets nothing.
 */
export function createTeamMailJob(deps: TeamMailDeps): JobHandler {
  return async (raw, job) => {
    const payload = raw as TeamMailPayload;
    const report = await findReport(deps.db, Number(payload.reportId));
    if (!report) throw new Error(`report ${payload.reportId} is gone`);
    const settings = await loadSettings(deps.db);
    let to = settings.securityEmail;
    if (payload.userId != null) {
      const member = await findUserById(deps.db, Number(payload.userId));
      if (!member || member.disabledAt) return;
      to = member.email;
    }
    const mail = composeTeamMail(payload.notice, report, teamReportLink(deps.baseUrl(), report.id), settings.timeZone);
    await deps.mailer.send(
      { from: deps.mailFrom ?? settings.securityEmail, to, subject: mail.subject, text: mail.text, headers: mail.headers },
      `team-${payload.notice.kind}-${report.id}-job-${job.id}`,
    );
  };
}

/**
 * Fans a new report out (`notify.report_received`): intake enqueues this one job in the
 * report's transaction; here the mails (and for an account attack the webhook post)
 * become jobs of their own, so that one failing address does not resend the others.
 */
export function createReportReceivedJob(deps: { db: Db; clock: Clock }): JobHandler {
  return async (payload) => {
    const report = await findReport(deps.db, Number(payload.reportId));
    if (!report) throw new Error(`report ${payload.reportId} is gone`);
    const settings = await loadSettings(deps.db);
    await deps.db.transaction().execute((tx) => notifyTeamOfNewReport(tx, report, settings.webhookUrl, deps.clock.now()));
  };
}
