import { ACCEPTED_KINDS_TEXT, describeBytes, type AttachmentLimits } from "../../modules/attachments/index.js";
import { formatUtc } from "../../modules/intake/index.js";
import { canReporterReply, type ReporterView } from "../../modules/reporter-side/index.js";
import { CHANNEL_LABELS, describeStateForReporter, isOpen } from "../../modules/reports/index.js";
import { describeDuration, type Settings } from "../../modules/settings/index.js";
import { termsOf } from "../../modules/sla/index.js";

export interface TrackingPageExtras {
  notice?: string;
  problem?: string;
  reply?: { body: string; errors: { body?: string; attachments?: string }; filesDropped: boolean };
  credit?: { values: { creditName: string; creditUrl: string; creditAnonymous: string }; errors: { creditName?: string; creditUrl?: string } };
}

const AUTHOR = { reporter: "You", team: "Security team", system: "Shield" } as const;

/**
 * What the reporter is promised, in words: each clock either met ("Answered on …"),
 * running ("by …"), or paused while the team waits for them.
 */
function promisesOf(view: ReporterView, settings: Settings): Array<{ label: string; text: string }> {
  const { report, deadlines } = view;
  const out: Array<{ label: string; text: string }> = [];
  // The report's own terms: what it was promised when it arrived.
  const targets = termsOf(report, settings);
  if (!targets) return out;
  const paused = report.state === "needs_info" ? " (paused while we wait for your answer)" : "";
  if (report.acknowledgedAt) out.push({ label: "First answer", text: `Answered on ${formatUtc(report.acknowledgedAt)}` });
  else if (report.state === "new" && view.firstResponse.dueAt && view.firstResponse.minutes) {
    out.push({ label: "First answer", text: `Promised within ${describeDuration(view.firstResponse.minutes)}: by ${formatUtc(view.firstResponse.dueAt)}` });
  }
  if (report.triagedAt) out.push({ label: "Confirmation", text: `Confirmed on ${formatUtc(report.triagedAt)}` });
  else if (isOpen(report.state) && deadlines.triage && targets.triage) {
    out.push({ label: "Confirmation", text: `We aim to confirm or rule out the issue within ${describeDuration(targets.triage)}: by ${formatUtc(deadlines.triage)}${paused}` });
  }
  if (report.resolvedAt) out.push({ label: "Fix", text: `Fixed on ${formatUtc(report.resolvedAt)}` });
  else if (isOpen(report.state) && deadlines.resolution) out.push({ label: "Fix", text: `Target: fixed by ${formatUtc(deadlines.resolution)}${paused}` });
  return out;
}

function escalationOf(view: ReporterView): { show: boolean; due: string | null; text: string | null } {
  const due = view.deadlines.firstResponse ? formatUtc(view.deadlines.firstResponse) : null;
  const check = view.escalation;
  if (check.ok) return { show: true, due, text: null };
  if (check.code === "not_due") return { show: false, due, text: `If nobody has answered by ${due}, you can escalate your report here.` };
  if (check.code === "cooling_down" && view.lastEscalatedAt && check.availableAt) {
    return { show: false, due, text: `You escalated this report on ${formatUtc(view.lastEscalatedAt)} and the team was paged. If there is still no answer, you can escalate again after ${formatUtc(check.availableAt)}.` };
  }
  return { show: false, due, text: null };
}

/** The template data of the tracking page. Every string here is escaped by the template. */
export function trackingPage(view: ReporterView, settings: Settings, limits: AttachmentLimits, csrfToken: string, token: string, extras: TrackingPageExtras = {}) {
  const { report } = view;
  const files = (messageId: number | null) =>
    view.attachments.filter((a) => a.messageId === messageId).map((a) => ({ name: a.filename, size: describeBytes(a.size) }));
  const creditText = report.creditName
    ? `As “${report.creditName}”${report.creditUrl ? `, linking to ${report.creditUrl}` : ""}`
    : "Not credited publicly";
  return {
    title: `Report #${report.id}`,
    found: true,
    csrfToken,
    actionBase: `/security/reports/${encodeURIComponent(token)}`,
    notice: extras.notice ?? null,
    problem: extras.problem ?? null,
    report: {
      id: report.id,
      title: report.title,
      channelLabel: CHANNEL_LABELS[report.channel],
      statusText: describeStateForReporter(report.state),
      receivedAt: formatUtc(report.receivedAt),
      receivedAtIso: report.receivedAt,
      description: report.description,
      steps: report.steps,
      impact: report.impact,
      asset: report.asset,
      reporterName: report.reporterName,
      reporterEmail: report.reporterEmail,
      creditText,
    },
    promises: promisesOf(view, settings),
    escalation: escalationOf(view),
    thread: view.messages.map((m) => ({
      from: m.authorKind,
      author: AUTHOR[m.authorKind],
      at: formatUtc(m.createdAt),
      atIso: m.createdAt,
      body: m.body,
      files: files(m.id),
    })),
    reportFiles: files(null),
    canReply: canReporterReply(report.state),
    reply: extras.reply ?? { body: "", errors: {}, filesDropped: false },
    credit: extras.credit ?? {
      values: { creditName: report.creditName ?? "", creditUrl: report.creditUrl ?? "", creditAnonymous: report.creditName == null ? "yes" : "" },
      errors: {},
    },
    limits: { maxFile: describeBytes(limits.maxFileBytes), maxFiles: limits.maxFiles, maxTotal: describeBytes(limits.maxTotalBytes) },
    acceptedKinds: ACCEPTED_KINDS_TEXT,
  };
}
