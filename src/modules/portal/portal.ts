/**
 * The reporter's side of a report, as rules. Pure: no database, no clock.
 * A reporter has no account; the secret tracking link is their identity.
 */
import { DomainError } from "../../shared/errors.js";
import { describeElapsedMinutes, formatInstantIn } from "../../shared/human-time.js";
import { CHANNEL_LABELS, subjectSafe, teamReportLink, type Report, type ReportState } from "../reports/index.js";
import type { Deadlines } from "../sla/index.js";

/** "Ping us if you don't hear back", but not more than twice a day per report. */
export const ESCALATION_COOLDOWN_MS = 12 * 60 * 60 * 1000;

export type EscalationCheck =
  | { ok: true }
  | { ok: false; code: "answered" | "no_promise" | "not_due" | "cooling_down"; why: string; availableAt?: string };

/**
 * Whether the reporter may page the team now: only while no person has answered
 * (the report is still `new`), once the promised first-response time has passed, and
 * at most once per 12 hours.
 */
export function checkEscalation(
  report: Pick<Report, "state">,
  deadlines: Pick<Deadlines, "firstResponse">,
  lastEscalatedAt: string | null,
  now: Date,
): EscalationCheck {
  if (report.state !== "new") {
    return { ok: false, code: "answered", why: "The security team has already answered this report, so there is nothing to escalate." };
  }
  if (deadlines.firstResponse == null) {
    return { ok: false, code: "no_promise", why: "This channel has no promised response time to escalate against." };
  }
  if (now.getTime() < Date.parse(deadlines.firstResponse)) {
    return { ok: false, code: "not_due", why: "The promised response time has not passed yet.", availableAt: deadlines.firstResponse };
  }
  if (lastEscalatedAt) {
    const again = Date.parse(lastEscalatedAt) + ESCALATION_COOLDOWN_MS;
    if (now.getTime() < again) {
      return { ok: false, code: "cooling_down", why: "You escalated this report less than 12 hours ago; the team has been paged.", availableAt: new Date(again).toISOString() };
    }
  }
  return { ok: true };
}

export const EscalationRefusedError = (why: string) => new DomainError("escalation_refused", "conflict", why);

/** Reporters may answer in every state except spam, where nobody reads on. */
export function canReporterReply(state: ReportState): boolean {
  return state !== "spam";
}

/**
 * Where a report goes when its reporter answers: a report waiting for information
 * returns to the state it came from (its clocks resume); any other stays put.
 */
export function stateAfterReporterReply(report: Pick<Report, "state" | "stateBeforeNeedsInfo">): ReportState | null {
  if (report.state !== "needs_info") return null;
  return report.stateBeforeNeedsInfo === "triaged" ? "triaged" : "acknowledged";
}

/**
 * The credit a reporter asked for, as stored: anonymous (or nothing given) means no
 * credit; a link without a name is credited under the reporter's name. Same rule as
 * the submission.
 */
export function creditFor(reporterName: string, credit: { name?: string; url?: string; anonymous?: boolean } | undefined): { creditName: string | null; creditUrl: string | null } {
  const anonymous = credit?.anonymous === true || (!credit?.name && !credit?.url);
  if (anonymous) return { creditName: null, creditUrl: null };
  return { creditName: credit?.name ?? reporterName, creditUrl: credit?.url ?? null };
}

/** Team e-mail addresses for a page: every enabled admin and triager, or the security address when there are none. */
export function escalationRecipients(members: Array<{ email: string; role: string; disabledAt: string | null }>, securityEmail: string): string[] {
  const team = members.filter((m) => m.disabledAt == null && (m.role === "admin" || m.role === "triager")).map((m) => m.email);
  return team.length ? [...new Set(team)] : [securityEmail];
}

/**
 * What a page says. The webhook text carries no reporter-written text (titles may hold
 * secrets or chat markup); the mail to the team names the title, made one-line. Times
 * are written in `timeZone` (the settings'), named; the link opens the desk page.
 */
export function describeEscalation(
  report: Pick<Report, "id" | "channel" | "title" | "receivedAt">,
  firstResponseDue: string,
  escalatedAt: string,
  baseUrl: string,
  timeZone: string,
): { subject: string; text: string; webhookText: string } {
  const overdue = describeElapsedMinutes((Date.parse(escalatedAt) - Date.parse(firstResponseDue)) / 60_000);
  const due = formatInstantIn(firstResponseDue, timeZone);
  const channel = CHANNEL_LABELS[report.channel];
  const link = teamReportLink(baseUrl, report.id);
  const webhookText = `Escalation: report #${report.id} (${channel}) has had no reply; the promised first response was due ${due} (${overdue} ago). The reporter pressed Escalate. ${link}`;
  const text = [
    `The reporter of #${report.id} escalated it: nobody has answered yet.`,
    "",
    `Report:   #${report.id} ${subjectSafe(report.title, 200)}`,
    `Channel:  ${channel}`,
    `Received: ${formatInstantIn(report.receivedAt, timeZone)}`,
    `Promised first response by: ${due} (overdue by ${overdue})`,
    "",
    `Answer the reporter and acknowledge the report: ${link}`,
  ].join("\n");
  return { subject: `[#${report.id}] ESCALATED: no reply yet on ${channel.toLowerCase()}`, text, webhookText };
}
