import { z } from "zod";
import type { Db } from "../../platform/db/database.js";
import { defineJob, handleJob } from "../../platform/jobs/job.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import { findUserById } from "../people/index.js";
import type { SettingsReader } from "../settings/index.js";
import { composeGuessingNotice, type GuessingNotice } from "./guessing-notice.js";

/** One mail to a member whose account reached its failed sign-ins for the window. */
export const GUESSING_NOTICE_JOB = defineJob({
  kind: "mail.sign_in_guessing",
  payload: z.object({ userId: z.number().int().positive(), failures: z.number().int(), windowMinutes: z.number(), at: z.string() }),
});

export interface GuessingNoticeDeps {
  db: Db;
  mailer: Mailer;
  baseUrl: () => string;
  /** SHIELD_MAIL_FROM; default the program's security address. */
  mailFrom?: string;
  settings: SettingsReader;
}

/**
 * Sends the notice to the member's address as it is when the mail goes out; a member
 * disabled meanwhile gets nothing.
 */
export function createGuessingNoticeJob(deps: GuessingNoticeDeps) {
  return handleJob(GUESSING_NOTICE_JOB, async (payload, job) => {
    const member = await findUserById(deps.db, payload.userId);
    if (!member || member.disabledAt) return;
    const settings = await deps.settings.get();
    const notice: GuessingNotice = { email: member.email, failures: payload.failures, windowMinutes: payload.windowMinutes, at: payload.at };
    const mail = composeGuessingNotice(notice, new URL("/login", deps.baseUrl()).toString(), settings.timeZone);
    await deps.mailer.send(
      { from: deps.mailFrom ?? settings.securityEmail, to: member.email, subject: mail.subject, text: mail.text, headers: mail.headers, notice: { kind: "sign_in_guessing" } },
      `sign-in-guessing-${member.id}-job-${job.id}`,
    );
  });
}
