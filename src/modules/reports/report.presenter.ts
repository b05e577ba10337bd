import type { z } from "zod";
import type { Settings } from "../settings/index.js";
import { computeDeadlines, disclosureDeadlineOf, type PauseInterval } from "../sla/index.js";
import { computeNextDeadline } from "./next-deadline.js";
import type { ReportDetails } from "./report-details.js";
import type { Report } from "./report.js";
import type { Message } from "./report-messages.repository.js";
import type { reportSummaryView, reportView } from "./report.schemas.js";

/**
 * The only place that shapes report JSON for the team API. `now`: the clock's time, which
 * says whether a deadline is missed; `pauses`: the report's ended pauses (readPauses).
 */
export function presentReportSummary(report: Report, settings: Settings, now: Date, pauses?: readonly PauseInterval[]): z.infer<typeof reportSummaryView> {
  return {
    id: report.id,
    channel: report.channel,
    state: report.state,
    title: report.title,
    severity: report.severity,
    ownerId: report.ownerId,
    reporterName: report.reporterName,
    receivedAt: report.receivedAt,
    updatedAt: report.updatedAt,
    deadlines: computeDeadlines(report, settings, now, pauses),
    nextDeadlineAt: computeNextDeadline(report, settings, now, pauses),
    disclosureDeadline: disclosureDeadlineOf(report, settings, now),
  };
}

/** The bounty the program's table suggests for a severity; none for `none` or no severity. */
export function suggestBounty(severity: Report["severity"], settings: Settings): { amount: number; currency: string } | null {
  if (!severity || severity === "none") return null;
  return { amount: settings.bountyTable[severity], currency: settings.bountyTable.currency };
}

export function presentReport(report: Report, messages: Message[], settings: Settings, details: ReportDetails, now: Date, pauses?: readonly PauseInterval[]): z.infer<typeof reportView> {
  return {
    ...presentReportSummary(report, settings, now, pauses),
    source: report.source,
    description: report.description,
    steps: report.steps,
    impact: report.impact,
    asset: report.asset,
    reporter: { name: report.reporterName, email: report.reporterEmail, pgpKey: report.reporterPgpKey },
    credit: { name: report.creditName, url: report.creditUrl },
    aiUsed: report.aiUsed,
    duplicateOf: report.duplicateOf,
    milestones: {
      acknowledgedAt: report.acknowledgedAt,
      triagedAt: report.triagedAt,
      resolvedAt: report.resolvedAt,
      closedAt: report.closedAt,
      disclosedAt: report.disclosedAt,
      needsInfoSince: report.needsInfoSince,
      pausedMs: report.pausedMs,
    },
    messages: messages.map((m) => ({ id: m.id, author: m.authorKind, body: m.body, internal: m.internal, createdAt: m.createdAt })),
    ownerEmail: details.ownerEmail,
    assessment: { cvss31: details.cvss31, cvss40: details.cvss40, severity: details.severity, severitySource: details.severitySource, cwe: details.cwe },
    affectedVersions: details.affectedVersions,
    bounty: { ...details.bounty, suggested: suggestBounty(report.severity, settings) },
    upstreams: details.upstreams.map(({ reportId: _reportId, ...upstream }) => upstream),
  };
}
