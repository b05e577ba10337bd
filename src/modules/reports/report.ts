import type { ServiceTerms } from "../sla/index.js";

/**
 * The report lifecycle of PRODUCT.md as one table with its guards. Pure: no database,
 * no clock. Every state change in Shield goes through `checkTransition`.
 */
export { CHANNELS, CLOSING_STATES, REPORT_STATES, SEVERITIES, TRACKED_CHANNELS, type Channel, type ClosingState, type ReportState, type Severity, type TrackedChannel } from "../../shared/report-vocabulary.js";
import { CLOSING_STATES, REPORT_STATES, type Channel, type ClosingState, type ReportState, type Severity } from "../../shared/report-vocabulary.js";

export interface Report {
  id: number;
  channel: Channel;
  state: ReportState;
  source: "api" | "web" | "email";
  title: string;
  description: string;
  steps: string | null;
  impact: string | null;
  asset: string | null;
  reporterName: string;
  reporterEmail: string;
  reporterPgpKey: string | null;
  creditName: string | null;
  creditUrl: string | null;
  aiUsed: boolean | null;
  severity: Severity | null;
  ownerId: number | null;
  duplicateOf: number | null;
  receivedAt: string;
  acknowledgedAt: string | null;
  triagedAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
  disclosedAt: string | null;
  needsInfoSince: string | null;
  stateBeforeNeedsInfo: ReportState | null;
  pausedMs: number;
  /** What the report was promised when it arrived (targets, calendar); null for support, and for a report stored before terms were kept until start-up fills them in. */
  serviceTerms: ServiceTerms | null;
  updatedAt: string;
}

/** What a reporter gives; the rest of a report starts empty. */
export type NewReport = Omit<Report, "id" | "ownerId" | "duplicateOf" | "severity" | "acknowledgedAt" | "triagedAt" | "resolvedAt" | "closedAt" | "disclosedAt" | "needsInfoSince" | "stateBeforeNeedsInfo" | "pausedMs" | "serviceTerms">;

/**
 * A report as it arrives: what was given, no owner, severity or milestone yet. Spelled out
 * field by field rather than spread: every submission builds one, and V8 builds it several
 * times faster this way.
 */
export function arrivingReport(report: NewReport): Omit<Report, "id"> {
  return {
    channel: report.channel,
    state: report.state,
    source: report.source,
    title: report.title,
    description: report.description,
    steps: report.steps,
    impact: report.impact,
    asset: report.asset,
    reporterName: report.reporterName,
    reporterEmail: report.reporterEmail,
    reporterPgpKey: report.reporterPgpKey,
    creditName: report.creditName,
    creditUrl: report.creditUrl,
    aiUsed: report.aiUsed,
    severity: null,
    ownerId: null,
    duplicateOf: null,
    receivedAt: report.receivedAt,
    acknowledgedAt: null,
    triagedAt: null,
    resolvedAt: null,
    closedAt: null,
    disclosedAt: null,
    needsInfoSince: null,
    stateBeforeNeedsInfo: null,
    pausedMs: 0,
    serviceTerms: null,
    updatedAt: report.updatedAt,
  };
}

const CLOSE_EARLY: ReportState[] = ["duplicate", "informative", "not_applicable", "spam", "routed_to_support"];
const CLOSE_LATE: ReportState[] = ["duplicate", "informative", "not_applicable"];

/** The audit action of a state change (see recordTransition). */
export const REPORT_TRANSITIONED = "report.transitioned";

/** The states in which a report is still open work for the team. */
export const OPEN_STATES = ["new", "acknowledged", "needs_info", "triaged"] as const satisfies readonly ReportState[];
export type OpenState = (typeof OPEN_STATES)[number];

/**
 * The lifecycle table: where each state may go, and what a move into a state needs and
 * causes. Closing outcomes may be reopened to `acknowledged` (a closed report turned out
 * to matter after all); a resolved report goes back to `triaged` when the fix did not
 * hold. Every move in Shield is checked against this table (`checkTransition`), applied
 * by `applyTransition` and carried out by `moveReport` (report.service.ts).
 */
export const LIFECYCLE: Readonly<Record<ReportState, MoveRule>> = {
  new: { next: ["acknowledged", ...CLOSE_EARLY], tellsReporter: false },
  acknowledged: { next: ["triaged", "needs_info", ...CLOSE_EARLY], needsOwner: true, tellsReporter: true },
  needs_info: { next: ["acknowledged", "triaged", ...CLOSE_EARLY], needsMessage: true, tellsReporter: true },
  triaged: { next: ["resolved", "needs_info", ...CLOSE_LATE], needsOwner: true, needsSeverity: true, tellsReporter: true },
  resolved: { next: ["disclosed", "triaged"], tellsReporter: true },
  disclosed: { next: [], onlyViaAdvisory: true, tellsReporter: true },
  duplicate: { next: ["acknowledged"], needsDuplicateOf: true, tellsReporter: true },
  informative: { next: ["acknowledged"], tellsReporter: true },
  not_applicable: { next: ["acknowledged"], tellsReporter: true },
  spam: { next: ["acknowledged"], tellsReporter: true },
  routed_to_support: { next: ["acknowledged"], tellsReporter: true, forwardsToSupport: true },
};

/** One row of the lifecycle table: the moves out of a state, and the rules of a move into it. */
export interface MoveRule {
  /** The states a report in this one may move to. */
  next: readonly ReportState[];
  /** A report moved here must have an owner (the current one or a new one named with the move). */
  needsOwner?: boolean;
  /** A report moved here must have a severity. */
  needsSeverity?: boolean;
  /** The move asks the reporter something, so it carries a message for them. */
  needsMessage?: boolean;
  /** The move names the report this one repeats. */
  needsDuplicateOf?: boolean;
  /** Only publishing an advisory makes this move. */
  onlyViaAdvisory?: boolean;
  /** The reporter hears of the move by e-mail and on their tracking page, unless they made it. */
  tellsReporter: boolean;
  /** The report is handed to the support address. */
  forwardsToSupport?: boolean;
}

/** Where each state may go (the `next` column of the lifecycle table). */
export const TRANSITIONS: Readonly<Record<ReportState, readonly ReportState[]>> = Object.fromEntries(
  REPORT_STATES.map((state) => [state, LIFECYCLE[state].next]),
) as Record<ReportState, readonly ReportState[]>;

/** What a transition request brings besides the target state. */
export interface TransitionInput {
  to: ReportState;
  /** Set when the change is made by publishing an advisory, the only way to `disclosed`. */
  viaAdvisory?: boolean;
  /** For `duplicate`: the report this one repeats. */
  duplicateOf?: number | null;
  /** The owner after the change (an explicit new one, or the current one). */
  ownerId?: number | null;
  severity?: Severity | null;
  /** The message to the reporter that goes with the move, if any (stored with it, or already stored). */
  message?: string | null;
}

export type TransitionCheck = { ok: true } | { ok: false; why: string };

export function isClosingState(state: ReportState): state is ClosingState {
  return (CLOSING_STATES as readonly string[]).includes(state);
}

/** Whether a report in this state is still open work for the team (one of `OPEN_STATES`). */
export function isOpen(state: ReportState): state is OpenState {
  return (OPEN_STATES as readonly string[]).includes(state);
}

/** Decides whether `report` may move as asked; the reason is written for the person who asked. */
export function checkTransition(report: Pick<Report, "id" | "state" | "ownerId" | "severity" | "stateBeforeNeedsInfo">, input: TransitionInput): TransitionCheck {
  const { state } = report;
  if (!TRANSITIONS[state].includes(input.to)) {
    if (state === input.to) return { ok: false, why: `the report is already ${state}.` };
    const allowed = TRANSITIONS[state];
    return {
      ok: false,
      why: allowed.length ? `from ${state} it can only go to ${allowed.join(", ")}.` : `${state} is final.`,
    };
  }
  const rule = LIFECYCLE[input.to];
  const owner = input.ownerId === undefined ? report.ownerId : input.ownerId;
  const severity = input.severity === undefined ? report.severity : input.severity;
  if (rule.needsOwner && owner == null) return { ok: false, why: `${article(input.to)} ${input.to} report needs an owner.` };
  if (input.to === "acknowledged" && state === "needs_info" && report.stateBeforeNeedsInfo === "triaged") {
    return { ok: false, why: "it was triaged before it waited for information; it returns to triaged." };
  }
  if (rule.needsSeverity && severity == null) return { ok: false, why: `${article(input.to)} ${input.to} report needs a severity.` };
  if (rule.needsMessage && !input.message?.trim()) return { ok: false, why: "say what you need from the reporter (message): they are asked to answer it." };
  if (rule.onlyViaAdvisory && !input.viaAdvisory) return { ok: false, why: "a report is disclosed only by publishing an advisory that links it." };
  if (rule.needsDuplicateOf) {
    if (input.duplicateOf == null) return { ok: false, why: "name the report it duplicates (duplicateOf)." };
    if (input.duplicateOf === report.id) return { ok: false, why: "a report cannot duplicate itself." };
  }
  return { ok: true };
}

function article(state: ReportState): string {
  return /^[aeiou]/.test(state) ? "an" : "a";
}

/**
 * The milestone fields a transition sets. Clocks pause while a report waits for its
 * reporter: the paused time is added to `pausedMs` when it leaves `needs_info`.
 */
export function applyTransition(report: Report, input: TransitionInput, at: Date): Partial<Report> {
  const now = at.toISOString();
  const changes: Partial<Report> = { state: input.to, updatedAt: now };
  if (input.ownerId !== undefined) changes.ownerId = input.ownerId;
  if (input.severity !== undefined) changes.severity = input.severity;
  if (report.state === "needs_info" && report.needsInfoSince) {
    changes.pausedMs = report.pausedMs + Math.max(0, at.getTime() - Date.parse(report.needsInfoSince));
    changes.needsInfoSince = null;
    changes.stateBeforeNeedsInfo = null;
  }
  switch (input.to) {
    case "acknowledged":
      if (!report.acknowledgedAt) changes.acknowledgedAt = now;
      changes.closedAt = null;
      changes.duplicateOf = null;
      break;
    case "needs_info":
      changes.needsInfoSince = now;
      changes.stateBeforeNeedsInfo = report.state;
      break;
    case "triaged":
      if (!report.triagedAt) changes.triagedAt = now;
      changes.resolvedAt = null;
      break;
    case "resolved":
      changes.resolvedAt = now;
      break;
    case "disclosed":
      changes.disclosedAt = now;
      break;
    case "duplicate":
      changes.duplicateOf = input.duplicateOf ?? null;
      changes.closedAt = now;
      break;
    default:
      if (isClosingState(input.to)) changes.closedAt = now;
  }
  return changes;
}

/** Whether the reporter hears of a change to this state by e-mail and on their tracking page. */
export function concernsReporter(to: ReportState): boolean {
  return LIFECYCLE[to].tellsReporter;
}

/** The state in plain words, as the reporter reads it. */
export function describeStateForReporter(state: ReportState): string {
  switch (state) {
    case "new":
      return "Received. A person from the security team will answer you soon.";
    case "acknowledged":
      return "A person on the security team has read your report and is looking into it.";
    case "needs_info":
      return "The security team needs more information from you. Please answer the latest message.";
    case "triaged":
      return "The security team confirmed the issue and is working on a fix.";
    case "resolved":
      return "The issue is fixed. It will be disclosed in a security update with credit where you asked for it.";
    case "disclosed":
      return "The issue is fixed and a security update has been published.";
    case "duplicate":
      return "Closed: the issue was already reported.";
    case "informative":
      return "Closed: useful information, but no fix is needed.";
    case "not_applicable":
      return "Closed: not a security issue in our products.";
    case "spam":
      return "Closed as spam.";
    case "routed_to_support":
      // Not "forwarded": a report that arrived encrypted may have been answered instead (see SUPPORT_HANDOVERS).
      return "Closed: this is a matter for our support team. The security team's message says how it goes on.";
  }
}

/**
 * How a report routed to support is handed over when the team chooses: `forward_decrypted`
 * sends support a readable copy (for a report that arrived encrypted, a decrypted one, which
 * the triager confirms and the audit log records); `reply_to_reporter` sends support nothing
 * and tells the reporter where to write instead. Without a choice a report that arrived in
 * clear is forwarded as it is, and one that arrived encrypted is not moved at all: its
 * ciphertext is never forwarded, nor its clear text without the triager's say.
 */
export const SUPPORT_HANDOVERS = ["forward_decrypted", "reply_to_reporter"] as const;
export type SupportHandover = (typeof SUPPORT_HANDOVERS)[number];

/** How a report arrived encrypted, if it did: in the reporter's browser (stored as ciphertext), or as PGP mail (decrypted on arrival). */
export interface EncryptedArrival {
  browser: boolean;
  mail: boolean;
}

export function arrivedEncrypted(arrival: EncryptedArrival): boolean {
  return arrival.browser || arrival.mail;
}

/** The reporter's message when the team answers them instead of forwarding to support. */
export function supportReferralMessage(supportEmail: string): string {
  return `Thank you for writing. This is not a security issue, but a question for our support team. You sent it encrypted, so we have not passed it on to them: please write to ${supportEmail}, who will answer you.`;
}

export const CHANNEL_LABELS: Record<Channel, string> = {
  account_attack: "Account under attack",
  vulnerability: "Vulnerability report",
  sensitive: "Other urgent or sensitive report",
  support: "Non-urgent request",
};

/** A report's title made safe for a mail subject: one line, no control characters, bounded. */
export function subjectSafe(text: string, max = 80): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
