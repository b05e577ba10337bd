import type { AdvisoryState } from "../../modules/advisories/index.js";
import type { AuditEvent } from "../../modules/audit/index.js";
import type { TeamMember } from "../../modules/people/index.js";
import { CHANNEL_LABELS, CHANNELS, OPEN_STATES, REPORT_STATES, REPORT_TRANSITIONED, SEVERITIES, UPSTREAM_STATUSES, type Channel, type Report, type ReportState, type Severity } from "../../modules/reports/index.js";
import { disclosureDeadlineOf, evaluateServiceLevels, type PauseInterval, type SlaTarget } from "../../modules/sla/index.js";
import type { Settings } from "../../modules/settings/index.js";
import { describeCountdown, urgencyOf, type CountdownState } from "./countdown.js";

export const QUEUE_PAGE_SIZE = 25;

export const STATE_LABELS: Record<ReportState, string> = {
  new: "New",
  acknowledged: "Acknowledged",
  needs_info: "Needs info",
  triaged: "Triaged",
  resolved: "Resolved",
  disclosed: "Disclosed",
  duplicate: "Duplicate",
  informative: "Informative",
  not_applicable: "Not applicable",
  spam: "Spam",
  routed_to_support: "Routed to support",
};

export const ADVISORY_STATE_LABELS: Record<AdvisoryState, string> = { draft: "Draft", scheduled: "Scheduled", published: "Published" };

export const TARGET_LABELS: Record<SlaTarget, string> = { firstResponse: "First response", triage: "Triage", resolution: "Resolution" };
export const UPSTREAM_STATUS_LABELS: Record<(typeof UPSTREAM_STATUSES)[number], string> = {
  not_notified: "Not notified",
  notified: "Notified",
  acknowledged: "Acknowledged",
  fixed: "Fixed",
  published: "Published",
  declined: "Declined",
};

/** What the queue's GET form asks for, as typed; empty fields mean "any". */
export interface QueueQuery {
  state: string;
  channel: string;
  owner: string;
  severity: string;
  q: string;
  page: number;
}

export interface ParsedQueueQuery {
  values: QueueQuery;
  errors: Record<string, string>;
  states: ReportState[] | undefined;
  channels: Channel[] | undefined;
  severities: Severity[] | undefined;
  /** `me`, `none`, an e-mail address, or undefined for anyone. */
  owner: string | undefined;
  q: string | undefined;
}

function text(query: Record<string, unknown>, name: string, max: number): string {
  const value = query[name];
  return typeof value === "string" ? value.slice(0, max).trim() : "";
}

/**
 * Reads the queue's filters. Nothing here throws: a value that is not on offer is
 * reported next to its field and ignored, so a stale shared link still shows a queue.
 */
export function parseQueueQuery(raw: unknown): ParsedQueueQuery {
  const query = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const values: QueueQuery = {
    state: text(query, "state", 40),
    channel: text(query, "channel", 40),
    owner: text(query, "owner", 254),
    severity: text(query, "severity", 40),
    q: text(query, "q", 500),
    page: Math.max(1, Math.min(10_000, Number.parseInt(text(query, "page", 6), 10) || 1)),
  };
  const errors: Record<string, string> = {};
  let states: ReportState[] | undefined = [...OPEN_STATES];
  if (values.state === "all") states = undefined;
  else if (values.state !== "" && values.state !== "open") {
    if ((REPORT_STATES as readonly string[]).includes(values.state)) states = [values.state as ReportState];
    else errors.state = "is not a state of a report";
  }
  let channels: Channel[] | undefined;
  if (values.channel !== "") {
    if ((CHANNELS as readonly string[]).includes(values.channel)) channels = [values.channel as Channel];
    else errors.channel = "is not a channel";
  }
  let severities: Severity[] | undefined;
  if (values.severity !== "") {
    if ((SEVERITIES as readonly string[]).includes(values.severity)) severities = [values.severity as Severity];
    else errors.severity = "is not a severity";
  }
  let owner: string | undefined;
  if (values.owner !== "") {
    if (values.owner === "me" || values.owner === "none" || /^[^\s@]+@[^\s@]+$/.test(values.owner)) owner = values.owner;
    else errors.owner = "must be you, nobody, or a team member";
  }
  let q: string | undefined;
  if (values.q !== "") {
    if (/[\p{L}\p{N}]/u.test(values.q)) q = values.q;
    else errors.q = "must contain a word";
  }
  return { values, errors, states, channels, severities, owner, q };
}

/** The query string of the queue with some values changed (for the pager), without empty fields. */
export function queueHref(values: QueueQuery, change: Partial<QueueQuery> = {}): string {
  const merged = { ...values, ...change };
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(merged)) {
    if (name === "page" ? value !== 1 : value !== "") params.set(name, String(value));
  }
  const query = params.toString();
  return query ? `/desk?${query}` : "/desk";
}

export interface ClockView {
  target: SlaTarget | "disclosure";
  label: string;
  state: CountdownState;
  dueAt: string | null;
  text: string;
  urgency: string;
  stoppedAt: string | null;
}

/** The report's service-level clocks as the desk shows them, in the order first response, triage, resolution. */
export function presentClocks(report: Report, settings: Settings, now: Date, pauses?: readonly PauseInterval[]): Record<SlaTarget, ClockView | null> {
  const out: Record<SlaTarget, ClockView | null> = { firstResponse: null, triage: null, resolution: null };
  for (const status of evaluateServiceLevels(report, settings, now, pauses)) {
    out[status.target] = {
      target: status.target,
      label: TARGET_LABELS[status.target],
      state: status.state,
      dueAt: status.dueAt,
      stoppedAt: status.stoppedAt,
      text: describeCountdown(status.state, status.dueAt, now.getTime()),
      urgency: urgencyOf(status.state, status.dueAt, now.getTime()),
    };
  }
  return out;
}

/**
 * The disclosure deadline as a desk clock ("Disclose by"): running until the report is
 * disclosed, missed once past it. None for support reports and reports closed without a fix.
 */
export function presentDisclosureClock(report: Report, settings: Settings, now: Date): ClockView | null {
  const deadline = disclosureDeadlineOf(report, settings, now);
  if (!deadline) return null;
  return {
    target: "disclosure",
    label: "Disclose by",
    state: deadline.state,
    dueAt: deadline.dueAt,
    stoppedAt: deadline.stoppedAt,
    text: describeCountdown(deadline.state, deadline.dueAt, now.getTime()),
    urgency: urgencyOf(deadline.state, deadline.dueAt, now.getTime()),
  };
}

/** An escalation stays flagged until someone answers the reporter: the report leaves `new`. */
export function isAwaitingFirstAnswer(state: ReportState): boolean {
  return state === "new";
}

export interface QueueRow {
  id: number;
  channel: string;
  title: string;
  reporterName: string;
  state: string;
  stateCode: ReportState;
  owner: string | null;
  severity: Severity | null;
  clocks: Array<ClockView | null>;
  /** Which of `clocks` is the nearest deadline still to keep (or missed); null when none runs. */
  nearest: number | null;
  /** The reporter escalated the report and nobody has answered yet. */
  escalated: boolean;
  /** The disclosure deadline; null when the report has none. */
  disclosure: ClockView | null;
  /** Not disclosed, and the disclosure deadline has passed. */
  pastDisclosure: boolean;
}

/** The clock a narrow screen shows: the running or missed one due first, else a paused one. */
export function nearestClock(clocks: ReadonlyArray<ClockView | null>): number | null {
  let best: number | null = null;
  for (const [i, c] of clocks.entries()) {
    if (!c || c.state === "met" || c.state === "paused" || c.dueAt === null) continue;
    if (best === null || c.dueAt < clocks[best]!.dueAt!) best = i;
  }
  if (best === null) {
    const paused = clocks.findIndex((c) => c?.state === "paused");
    return paused === -1 ? null : paused;
  }
  return best;
}

export function presentQueueRow(
  report: Report,
  settings: Settings,
  now: Date,
  members: Map<number, TeamMember>,
  pauses?: readonly PauseInterval[],
  escalation?: { lastEscalatedAt: string },
): QueueRow {
  const clocks = presentClocks(report, settings, now, pauses);
  const shown = [clocks.firstResponse, clocks.triage, clocks.resolution];
  const disclosure = presentDisclosureClock(report, settings, now);
  const owner = report.ownerId == null ? null : (members.get(report.ownerId)?.name ?? `member ${report.ownerId}`);
  return {
    id: report.id,
    channel: CHANNEL_LABELS[report.channel],
    title: report.title,
    reporterName: report.reporterName,
    state: STATE_LABELS[report.state],
    stateCode: report.state,
    owner,
    severity: report.severity,
    clocks: shown,
    nearest: nearestClock(shown),
    escalated: escalation !== undefined && isAwaitingFirstAnswer(report.state),
    disclosure,
    pastDisclosure: disclosure !== null && disclosure.state === "missed" && disclosure.stoppedAt === null,
  };
}

/** One line of the report's audit trail, in words; `data` stays as JSON text for the details (escaped by the view). */
export function presentAuditEvent(event: AuditEvent): { seq: number; at: string; actor: string; action: string; details: string } {
  let details = "";
  try {
    const data = JSON.parse(event.data) as Record<string, unknown>;
    if (event.action === REPORT_TRANSITIONED && typeof data.from === "string" && typeof data.to === "string") {
      details = `${data.from} → ${data.to}${typeof data.reason === "string" ? `: ${data.reason}` : ""}`;
    } else if (Object.keys(data).length > 0) {
      details = JSON.stringify(data);
    }
  } catch {
    details = event.data;
  }
  return { seq: event.seq, at: event.at, actor: event.actor.replace(/^user:\d+:/, ""), action: event.action, details: details.slice(0, 2000) };
}
