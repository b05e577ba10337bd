import type { Db } from "../../platform/db/database.js";
import { handleJob } from "../../platform/jobs/job.js";
import { findReport, teamReportLink } from "../reports/index.js";
import type { SettingsReader } from "../settings/index.js";
import { composeWebhookText } from "./notice.js";
import { WEBHOOK_JOB } from "./notification.service.js";

export interface WebhookDeps {
  db: Db;
  baseUrl: () => string;
  /** How long to wait for the webhook's answer; 10 s. */
  timeoutMs?: number;
  /** The program settings: the webhook's URL, read when the job runs. */
  settings: SettingsReader;
}

/**
 * Posts `{"text": …}` to the program's `webhookUrl` (Slack, Mattermost, Rocket.Chat and
 * others accept it). Redirects are not followed (the URL is the one an admin set, not
 * where a server sends us), and anything but 2xx fails the job so that the outbox
 * retries it. The URL is read at send time and never put in an error: it is a secret.
 */
export function createWebhookJob(deps: WebhookDeps) {
  return handleJob(WEBHOOK_JOB, async (payload) => {
    const settings = await deps.settings.get();
    if (!settings.webhookUrl) return;
    const report = await findReport(deps.db, payload.reportId);
    if (!report) return;
    const text = composeWebhookText(payload.notice, report, teamReportLink(deps.baseUrl(), report.id), settings.timeZone);
    await postToWebhook(settings.webhookUrl, text, deps.timeoutMs ?? 10_000);
  });
}

export async function postToWebhook(url: string, text: string, timeoutMs: number): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text }),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = (error as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new Error(`webhook post failed: ${why}`);
  }
  await response.body?.cancel().catch(() => {});
  if (response.status < 200 || response.status > 299) throw new Error(`webhook answered HTTP ${response.status}`);
}
