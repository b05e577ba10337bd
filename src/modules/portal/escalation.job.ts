import type { JobHandler } from "../../platform/jobs/worker.js";
import type { MailJobDeps } from "../intake/index.js";
import { postToWebhook } from "../notifications/index.js";
import { listUsers } from "../people/index.js";
import { findReport } from "../reports/index.js";
import { loadSettings } from "../settings/index.js";
import { describeEscalation, escalationRecipients } from "./portal.js";

async function loadEscalation(deps: Pick<MailJobDeps, "db" | "baseUrl">, payload: Record<string, unknown>) {
  const reportId = Number(payload.reportId);
  const report = await findReport(deps.db, reportId);
  if (!report) throw new Error(`report ${reportId} is gone`);
  const settings = await loadSettings(deps.db);
  const page = describeEscalation(report, String(payload.firstResponseDue), String(payload.escalatedAt), deps.baseUrl(), settings.timeZone);
  return { report, settings, page };
}

/** E-mails the page to every admin and triager (or the security address when the team is empty). */
export function createEscalationMailJob(deps: MailJobDeps): JobHandler {
  return async (payload, job) => {
    const { report, settings, page } = await loadEscalation(deps, payload);
    const to = escalationRecipients(await listUsers(deps.db), settings.securityEmail);
    await deps.mailer.send(
      { from: deps.mailFrom ?? settings.securityEmail, to: to.join(", "), subject: page.subject, text: page.text, headers: { "Auto-Submitted": "auto-generated", Importance: "high" } },
      `escalation-${report.id}-job-${job.id}`,
    );
  };
}

export interface WebhookJobDeps extends Pick<MailJobDeps, "db" | "baseUrl"> {
  /** How long to wait for the webhook's answer; 10 s. */
  timeoutMs?: number;
}

/**
 * Posts the page as Slack-compatible JSON (`{"text": …}`) to the `webhookUrl` setting as
 * it is when the job runs (removed since: nothing to do), with the notifications
 * module's poster: no redirects followed, anything but a 2xx fails the job and the
 * outbox retries it with backoff.
 */
export function createEscalationWebhookJob(deps: WebhookJobDeps): JobHandler {
  return async (payload) => {
    const { settings, page } = await loadEscalation(deps, payload);
    if (!settings.webhookUrl) return;
    await postToWebhook(settings.webhookUrl, page.webhookText, deps.timeoutMs ?? 10_000);
  };
}
