import { ACCEPTED_KINDS_TEXT, describeBytes, discardUploads, labelsKeptAsSent, listAttachmentsOfReport, stageTextAsSent, type AttachmentLimits } from "../../modules/attachments/index.js";
import { formatUtc, INTAKE_RATE_LIMIT_GROUP, trackingUrlFor } from "../../modules/intake/index.js";
import { checkBrowserEncryptedForm, isBrowserEncryptedForm } from "../../modules/browser-encryption/index.js";
import { validateReporterKey } from "../../modules/keys/index.js";
import { CONFIRMATION_TTL_MS, openConfirmation, submitReportFromWeb } from "../../modules/reporter-side/index.js";
import { CHANNEL_LABELS, CHANNELS, type Channel } from "../../modules/reports/index.js";
import { describeDuration, type Settings } from "../../modules/settings/index.js";
import { computeDeadlines, termsOf } from "../../modules/sla/index.js";
import type { HttpApp } from "../../platform/http/app.js";
import { DomainError } from "../../shared/errors.js";
import { NOT_UTF8_AGAIN, readMultipartForm } from "./multipart-form.js";
import { csrfFailure, page, redirect, sendAnswer, sendPage, type Answer } from "./page-reply.js";
import type { PublicSiteDeps } from "./public-site.plugin.js";
import { emptyReportForm, isOtherAssetChosen, readReportForm, REPORT_FIELD_LABELS, REPORT_FORM_FIELDS, TEXT_KEPT_AS_SENT, toSubmission, type FormErrors, type ReportFormField, type ReportFormValues } from "./report-form.js";

/** Holds the one-time confirmation id between the form's POST and the confirmation page: never in a URL. */
const CONFIRMATION_COOKIE = "shield_confirmation";
const CONFIRMATION_PATH = "/security/report/received";

/** Where each error in the summary jumps to. */
const TARGET_OF: Partial<Record<keyof FormErrors, string>> = { channel: "channel-account_attack", aiUsed: "aiUsed-yes" };
const SUMMARY_ORDER: Array<keyof FormErrors> = [...REPORT_FORM_FIELDS.slice(0, 7), "attachments", ...REPORT_FORM_FIELDS.slice(7)];

export function pageLimits(limits: AttachmentLimits) {
  return { maxFile: describeBytes(limits.maxFileBytes), maxFiles: limits.maxFiles, maxTotal: describeBytes(limits.maxTotalBytes) };
}

/** A support URL is shown as a link only when it is a web address. */
export function supportContact(settings: Settings): { email: string; url: string | null } {
  return { email: settings.supportEmail, url: settings.supportUrl && /^https?:\/\//i.test(settings.supportUrl) ? settings.supportUrl : null };
}

function channelHint(channel: Channel, settings: Settings): string {
  if (channel === "support") return "Questions about your account, billing or how something works. Our support team answers these, not this form.";
  const minutes = settings.targets[channel].firstResponse;
  const promise = minutes == null ? "We answer as soon as we can." : `We respond within ${describeDuration(minutes)}${channel === "account_attack" ? ", day and night" : ""}.`;
  const what = {
    account_attack: "Someone is breaking into or attacking an account right now (hacking, mailbombing).",
    vulnerability: "A security weakness in our products or services.",
    sensitive: "Another urgent or sensitive security matter.",
  }[channel];
  return `${what} ${promise}`;
}

function formPage(settings: Settings, limits: AttachmentLimits, csrfToken: string, values: ReportFormValues, errors: FormErrors, filesDropped: boolean) {
  const errorList = SUMMARY_ORDER.filter((field) => errors[field]).map((field) => ({
    target: TARGET_OF[field] ?? (field === "attachments" ? "attachments" : field),
    label: REPORT_FIELD_LABELS[field],
    message: errors[field]!,
  }));
  return {
    title: errorList.length ? "Error: Report a security issue" : "Report a security issue",
    nav: "report",
    csrfToken,
    values,
    errors,
    errorList,
    filesDropped: filesDropped && errorList.length > 0,
    channels: CHANNELS.map((c) => ({ value: c, label: CHANNEL_LABELS[c], hint: channelHint(c, settings) })),
    support: supportContact(settings),
    assets: settings.assets,
    limits: pageLimits(limits),
    acceptedKinds: ACCEPTED_KINDS_TEXT,
  };
}

/**
 * The key check of the API (keys module), run before any file is stored so its verdict
 * appears next to the field with the others. submitReport checks again; that is cheap.
 */
async function reporterKeyProblem(armored: string): Promise<string | undefined> {
  try {
    await validateReporterKey(armored);
    return undefined;
  } catch (error) {
    const problem = error instanceof DomainError ? error.fields?.["reporter.pgpKey"] : undefined;
    if (problem) return problem;
    throw error;
  }
}

/** `GET/POST /security/report` (the form) and `GET /security/report/received` (the one-time confirmation). */
export function registerReportFormRoutes(site: HttpApp, deps: PublicSiteDeps): void {
  const { db, clock, blobs, limits } = deps;

  site.get("/security/report", { schema: { hide: true } }, async (_request, reply) => {
    const settings = await deps.settings.get();
    return sendPage(reply, 200, "report-form", formPage(settings, limits, reply.csrfToken(), emptyReportForm(), {}, false));
  });

  site.post(
    "/security/report",
    { schema: { hide: true }, config: { rateLimit: { max: deps.rateLimitPerMinute, timeWindow: "1 minute", groupId: INTAKE_RATE_LIMIT_GROUP } } },
    async (request, reply) => {
      const form = await readMultipartForm(request, blobs, limits, "attachments", { allowOpenPgpWhen: isBrowserEncryptedForm, keepInvalidUtf8: TEXT_KEPT_AS_SENT });
      const encrypted = isBrowserEncryptedForm(form.fields);
      let stored = false;
      let answer: Answer;
      try {
        const csrf = csrfFailure(site, request, form.fields.get("_csrf"));
        if (csrf) throw csrf;
        const settings = await deps.settings.get();
        const values = readReportForm(form.fields);
        if (values.channel === "support") {
          answer = page(200, "report-support", { title: "Non-urgent requests go to support", nav: "report", support: supportContact(settings) });
        } else {
          const errors: FormErrors = {};
          for (const field of [...REPORT_FORM_FIELDS, "attachments"] as const) {
            if (form.problems[field]) errors[field] = form.problems[field];
          }
          const submission = toSubmission(values, settings.assets);
          if (!submission.ok) for (const [field, message] of Object.entries(submission.errors)) errors[field as keyof FormErrors] ??= message;
          if (encrypted) {
            const problems = await checkBrowserEncryptedForm(deps.keyring, { description: values.description, steps: values.steps, impact: values.impact }, form.uploads);
            for (const [field, problem] of Object.entries(problems)) errors[field as keyof FormErrors] = problem;
          }
          if (values.reporterPgpKey.trim() && !errors.reporterPgpKey) {
            const problem = await reporterKeyProblem(values.reporterPgpKey);
            if (problem) errors.reporterPgpKey = problem;
          }
          // An "other" asset typed but not chosen is not part of the report.
          const asSent = [...form.asSent].filter(([field]) => field !== "assetOther" || isOtherAssetChosen(values, settings.assets));
          if (!submission.ok || Object.keys(errors).length) {
            // The bytes that were not UTF-8 are not kept with a refused form: say so, or sending it again would store the � silently.
            for (const [field] of asSent) errors[field as keyof FormErrors] ??= NOT_UTF8_AGAIN;
            answer = page(400, "report-form", formPage(settings, limits, reply.csrfToken(), values, errors, form.hadFiles));
          } else {
            // Text that was not valid UTF-8 goes with the report as sent, as files (discarded below if it is not stored).
            for (const [field, bytes] of asSent) form.uploads.push(await stageTextAsSent(blobs, REPORT_FIELD_LABELS[field as ReportFormField], bytes));
            const { report, confirmationId } = await submitReportFromWeb(deps, blobs, submission.body, form.uploads, { browserEncrypted: encrypted, sender: request.ip });
            stored = true;
            deps.onChanged();
            request.log.info({ report: report.id, channel: report.channel, source: "web", attachments: form.uploads.length, browserEncrypted: encrypted }, "report received");
            reply.setCookie(CONFIRMATION_COOKIE, confirmationId, {
              path: CONFIRMATION_PATH,
              httpOnly: true,
              sameSite: "strict",
              secure: "auto",
              maxAge: CONFIRMATION_TTL_MS / 1000,
            });
            reply.header("cache-control", "no-store");
            answer = redirect(CONFIRMATION_PATH);
          }
        }
      } finally {
        if (!stored) await discardUploads(blobs, form.uploads);
      }
      return sendAnswer(reply, answer);
    },
  );

  site.get(CONFIRMATION_PATH, { schema: { hide: true } }, async (request, reply) => {
    reply.header("cache-control", "no-store");
    const confirmationId = request.cookies[CONFIRMATION_COOKIE];
    if (confirmationId) reply.clearCookie(CONFIRMATION_COOKIE, { path: CONFIRMATION_PATH });
    const opened = confirmationId ? await openConfirmation(db, clock, confirmationId) : undefined;
    if (!opened) {
      return sendPage(reply, 404, "message", {
        title: "Nothing to show here",
        message: "The confirmation with your tracking link is shown only once, right after you send a report. The link is also in the receipt e-mail we sent you.",
      });
    }
    const { report, trackingToken } = opened;
    const settings = await deps.settings.get();
    const target = termsOf(report, settings)?.firstResponse ?? null;
    const due = computeDeadlines(report, settings, clock.now()).firstResponse;
    // The fields whose bytes were kept as sent, from the report's own files.
    const asSent = labelsKeptAsSent((await listAttachmentsOfReport(db, report.id)).filter((a) => a.messageId === null)).map((label) => label.toLowerCase());
    return sendPage(reply, 200, "report-received", {
      title: "Report received",
      asSent,
      nav: "report",
      reportId: report.id,
      reportTitle: report.title,
      reporterEmail: report.reporterEmail,
      trackingUrl: trackingUrlFor(deps.baseUrl(), trackingToken),
      promise:
        target != null && due
          ? `A person from the security team will answer you within ${describeDuration(target)}, by ${formatUtc(due)}.`
          : "A person from the security team will answer you as soon as possible.",
    });
  });
}
