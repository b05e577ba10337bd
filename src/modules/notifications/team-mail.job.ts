import type { Db } from "../../platform/db/database.js";
import { handleJob } from "../../platform/jobs/job.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import { findUserById } from "../people/index.js";
import { findReport, teamReportLink } from "../reports/index.js";
import type { SettingsReader } from "../settings/index.js";
import { composeTeamMail } from "./notice.js";
import { TEAM_MAIL_JOB } from "./notification.service.js";

export interface TeamMailDeps {
  db: Db;
  mailer: Mailer;
  baseUrl: () => string;
  /** SHIELD_MAIL_FROM; default the program's security address. */
  mailFrom?: string;
  settings: SettingsReader;
}

/**
 * Sends one notice to one team member. The address is read when the mail goes out, so
 * a member who changed address gets it at the new one and a disabled one gets nothing.
 */
export function createTeamMailJob(deps: TeamMailDeps) {
  return handleJob(TEAM_MAIL_JOB, async (payload, job) => {
    const report = await findReport(deps.db, payload.reportId);
    // Deleted meanwhile: nothing left to tell about.
    if (!report) return;
    const settings = await deps.settings.get();
    let to = settings.securityEmail;
    if (payload.userId != null) {
      const member = await findUserById(deps.db, payload.userId);
      if (!member || member.disabledAt) return;
      to = member.email;
    }
    const mail = composeTeamMail(payload.notice, report, teamReportLink(deps.baseUrl(), report.id), settings.timeZone);
    await deps.mailer.send(
      { from: deps.mailFrom ?? settings.securityEmail, to, subject: mail.subject, text: mail.text, headers: mail.headers, notice: { kind: payload.notice.kind, reportId: report.id } },
      `team-${payload.notice.kind}-${report.id}-job-${job.id}`,
    );
  });
}
