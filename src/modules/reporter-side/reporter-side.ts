/**
 * The reporter's side of a report, as rules. Pure: no database, no clock.
 * A reporter has no account; the secret tracking link is their identity.
 */
import { DomainError } from "../../shared/errors.js";
import type { Report, ReportState } from "../reports/index.js";
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
