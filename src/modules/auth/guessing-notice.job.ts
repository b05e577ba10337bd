import type { Db } from "../../platform/db/database.js";
import type { JobHandler } from "../../platform/jobs/worker.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import { findUserById } from "../people/index.js";
import { loadSettings } from "../settings/index.js";
import { composeGuessingNotice, type GuessingNotice } from "./guessing-notice.js";

/** One mail to a member whose account reached its failed sign-ins for the window. */
export const GUESSING_NOTICE_JOB = "mail.sign_in_guessing";

export interface GuessingNoticePayload {
  userId: number;
  failures: number;
  windowMinutes: number;
  at: string;
  [key: string]: unknown;
}

export interface GuessingNoticeDeps {
  db: Db;
  mailer: Mailer;
  baseUrl: () => string;
  /** SHIELD_MAIL_FROM; default the program's security address. */
  mailFrom?: string;
}

/**
 * Sends the notice to the member's address as it is when the mail goes out; a member
 * disabled meanwhile gets nothing.
 */
export function createGuessingNoticeJob(deps: GuessingNoticeDeps): JobHandler {
  return async (raw, job) => {
    const payload = raw as GuessingNoticePayload;
    const member = await findUserById(deps.db, Number(payload.userId));
    if (!member || member.disabledAt) return;
    const settings = await loadSettings(deps.db);
    const notice: GuessingNotice = { email: member.email, failures: Number(payload.failures), windowMinutes: Number(payload.windowMinutes), at: String(payload.at) };
    const mail = composeGuessingNotice(notice, new URL("/login", deps.baseUrl()).toString(), settings.timeZone);
    await deps.mailer.send(
      { from: deps.mailFrom ?? settings.securityEmail, to: member.email, subject: mail.subject, text: mail.text, headers: mail.headers },
      `sign-in-guessing-${member.id}-job-${job.id}`,
    );
  };
}
