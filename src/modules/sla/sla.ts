import type { Channel, ReportState, Severity } from "../../shared/report-vocabulary.js";
import type { BusinessCalendar, Settings } from "../settings/index.js";
import { compileCalendar, instantAfterRunning, mergeSpans, runningTimeBetween, type Span } from "./business-calendar.js";

/**
 * Service-level clocks. Pure: no database, no system time (the caller passes `now`).
 *
 * Every clock runs on the report's own terms (`ServiceTerms`), fixed when it arrived.
 * Every clock starts at receipt: the policy page promises a reply within N hours of the
 * reporter's submission. A clock runs only inside its channel's business hours when the
 * channel has a calendar, around the clock otherwise, and never while the report waits
 * for its reporter (`needs_info`). It stops at its milestone: first response at
 * `acknowledgedAt`, triage at `triagedAt`, resolution at `resolvedAt` — or at `closedAt`
 * when the report is closed first (closing sends the reporter an answer).
 *
 * Pauses are measured in business time: what is taken off the clock is the business
 * time that passed while the report waited, not the wall time. A pause from Friday
 * 16:00 to Monday 10:00 on a Monday–Friday 09:00–17:00 calendar costs the clock two
 * hours, not sixty-six; on a 24/7 channel business time is wall time, so there the two
 * are the same. This needs to know when each pause happened: the running pause is
 * known from `needsInfoSince`; earlier ones come from the report's history
 * (`pausesFromTransitions`). When a caller has no history, the paused wall time in
 * `pausedMs` that no known pause explains is credited to the clock as is — exact on
 * 24/7 channels, generous on calendars.
 */

export const SLA_TARGETS = ["firstResponse", "triage", "resolution"] as const;
export type SlaTarget = (typeof SLA_TARGETS)[number];

export type ClockState = "running" | "paused" | "met" | "missed";

/** The owner is warned once a clock has used this share of its target. */
export const WARNING_SHARE = 0.75;

export interface TargetStatus {
  target: SlaTarget;
  /** The target in minutes, from the program settings. */
  minutes: number;
  /** When the clock runs out, assuming it runs from now on; null only past a ten-year horizon. */
  dueAt: string | null;
  /** Running time used over the target: 0 at receipt, 1 at the deadline, more when late. */
  elapsedShare: number;
  state: ClockState;
  /** The milestone that stopped the clock, if it stopped. */
  stoppedAt: string | null;
}

/** A pause that ended: the report waited for its reporter from `from` to `to`. */
export interface PauseInterval {
  from: string;
  to: string;
}

/** What the clocks read of a report (a report of modules/reports has all of it). */
export interface SlaReport {
  channel: Channel;
  state: ReportState;
  severity: Severity | null;
  receivedAt: string;
  acknowledgedAt: string | null;
  triagedAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
  pausedMs: number;
  needsInfoSince: string | null;
  serviceTerms?: ServiceTerms | null;
}

/**
 * What a report was promised: the targets (minutes) and calendar of its channel as they
 * were when it arrived, and the resolution targets by severity (a severity set later picks
 * from these). Stored with the report (`reports.service_terms`): a change of the settings
 * applies to reports received after it, so a promise keeps its date and a stopped clock
 * its verdict.
 */
export interface ServiceTerms {
  firstResponse: number | null;
  triage: number | null;
  resolution: Settings["resolutionTargets"];
  calendar: BusinessCalendar | null;
  /**
   * Days from receipt by which the report is to be disclosed (the advisories' disclosure
   * deadline policy). Absent only in terms stored before it was kept, until start-up adds
   * the settings' value of that moment (`fixTermsOfEarlierReports`).
   */
  disclosureDays?: number | null;
}

/** The terms a report on `channel` arriving now is promised; null for support, which runs no clocks. */
export function serviceTermsFor(channel: Channel, settings: Settings): ServiceTerms | null {
  if (channel === "support") return null;
  const targets = settings.targets[channel];
  return {
    firstResponse: targets.firstResponse,
    triage: targets.triage,
    resolution: { ...settings.resolutionTargets },
    calendar: settings.calendars?.[channel] ?? null,
    disclosureDays: settings.advisories?.disclosureDeadlineDays ?? null,
  };
}

/**
 * The terms a report runs on: its own. Only a report stored before terms were kept with
 * reports has none until start-up gives it the settings of that moment
 * (`fixTermsOfEarlierReports`); until then it reads the current settings.
 */
export function termsOf(report: Pick<SlaReport, "channel" | "serviceTerms">, settings: Settings): ServiceTerms | null {
  return report.serviceTerms ?? serviceTermsFor(report.channel, settings);
}

/** Due times for the team API and the receipt (kept for those callers). */
export interface Deadlines {
  firstResponse: string | null;
  triage: string | null;
  resolution: string | null;
}

/** The targets and calendars of the settings as one comparable text: the metrics name the current targets, so figures stored with other ones are shown again with these (the verdicts themselves come from each report's own terms). */
export function serviceLevelBasisOf(settings: Settings): string {
  return JSON.stringify({ targets: settings.targets, resolutionTargets: settings.resolutionTargets, calendars: settings.calendars ?? null });
}


/** The targets that apply to a report, in minutes, from its terms: per channel, and for resolution per severity. */
export function targetsFor(report: Pick<SlaReport, "channel" | "severity" | "serviceTerms">, settings: Settings): Partial<Record<SlaTarget, number>> {
  const terms = termsOf(report, settings);
  if (!terms) return {};
  const out: Partial<Record<SlaTarget, number>> = {};
  if (terms.firstResponse != null) out.firstResponse = terms.firstResponse;
  if (terms.triage != null) out.triage = terms.triage;
  const resolution = report.severity ? terms.resolution[report.severity] : null;
  if (resolution != null) out.resolution = resolution;
  return out;
}

function stopOf(report: SlaReport, target: SlaTarget): string | null {
  const milestone = target === "firstResponse" ? report.acknowledgedAt : target === "triage" ? report.triagedAt : report.resolvedAt;
  return milestone ?? report.closedAt;
}

/**
 * Every clock of a report at `now`. `pauses` are the report's ended pauses when the
 * caller knows them (see the module comment); the running one comes from the row.
 */
export function evaluateServiceLevels(report: SlaReport, settings: Settings, now: Date, pauses?: readonly PauseInterval[]): TargetStatus[] {
  const terms = termsOf(report, settings);
  if (!terms) return [];
  const calendarSettings = terms.calendar;
  const calendar = calendarSettings ? compileCalendar(calendarSettings) : null;
  const nowMs = now.getTime();
  const startMs = Date.parse(report.receivedAt);

  const ended: Span[] = (pauses ?? []).map((p) => [Date.parse(p.from), Date.parse(p.to)] as const);
  const explainedMs = ended.reduce((sum, [s, e]) => sum + Math.max(0, e - s), 0);
  const unexplainedMs = Math.max(0, report.pausedMs - explainedMs);
  const running = report.state === "needs_info" && report.needsInfoSince ? ([Date.parse(report.needsInfoSince), Math.max(nowMs, Date.parse(report.needsInfoSince))] as const) : null;

  const out: TargetStatus[] = [];
  for (const [target, minutes] of Object.entries(targetsFor(report, settings)) as Array<[SlaTarget, number]>) {
    const stoppedAt = stopOf(report, target);
    const untilMs = stoppedAt ? Date.parse(stoppedAt) : nowMs;
    // A stopped clock ignores what happened after its stop.
    const spans = mergeSpans([...ended, ...(running ? [running] : [])].map(([s, e]) => [s, Math.min(e, untilMs)] as const));
    const targetMs = minutes * 60_000;
    const dueMs = instantAfterRunning(calendar, startMs, targetMs + unexplainedMs, spans);
    const usedMs = Math.max(0, runningTimeBetween(calendar, startMs, untilMs, spans) - unexplainedMs);
    const late = dueMs == null ? false : untilMs > dueMs;
    let state: ClockState;
    if (stoppedAt) state = late ? "missed" : "met";
    else if (late) state = "missed";
    else state = running ? "paused" : "running";
    out.push({ target, minutes, dueAt: dueMs == null ? null : new Date(dueMs).toISOString(), elapsedShare: usedMs / targetMs, state, stoppedAt });
  }
  return out;
}

/**
 * Due times of a report's clocks. `now` matters only while the report is paused (its
 * deadlines move with the pause); callers without a clock get the system time.
 */
export function computeDeadlines(report: SlaReport, settings: Settings, now: Date, pauses?: readonly PauseInterval[]): Deadlines {
  const deadlines: Deadlines = { firstResponse: null, triage: null, resolution: null };
  for (const status of evaluateServiceLevels(report, settings, now, pauses)) deadlines[status.target] = status.dueAt;
  return deadlines;
}

/** The promise of a first human response, as the receipt, the submission's answer and the tracking page state it. */
export interface FirstResponsePromise {
  /** Minutes the report's channel promises; null when it promises none (support, or no target set). */
  minutes: number | null;
  /** When the promise runs out; null when there is none. */
  dueAt: string | null;
}

export function firstResponsePromise(report: SlaReport, settings: Settings, now: Date, pauses?: readonly PauseInterval[]): FirstResponsePromise {
  const minutes = termsOf(report, settings)?.firstResponse ?? null;
  return { minutes, dueAt: minutes == null ? null : computeDeadlines(report, settings, now, pauses).firstResponse };
}

/** What the periodic check owes the team for one clock: nothing, a warning, or news of a miss. */
export function alertFor(status: TargetStatus): "warning" | "missed" | null {
  // A clock that already stopped needs no one to act: a late acknowledgement is history.
  if (status.stoppedAt) return null;
  if (status.state === "missed") return "missed";
  if (status.elapsedShare >= WARNING_SHARE) return "warning";
  return null;
}

/**
 * The ended pauses of a report, from its state changes in order. A pause that began
 * but whose end was not recorded as a state change (and is not the running one) is
 * closed with the paused time `pausedMs` does not otherwise explain.
 */
export function pausesFromTransitions(
  transitions: ReadonlyArray<{ at: string; from: ReportState | string; to: ReportState | string }>,
  report: Pick<SlaReport, "pausedMs" | "needsInfoSince">,
): PauseInterval[] {
  const ended: PauseInterval[] = [];
  const unclosed: string[] = [];
  let openSince: string | null = null;
  for (const t of transitions) {
    if (t.from === "needs_info" && openSince) {
      ended.push({ from: openSince, to: t.at });
      openSince = null;
    }
    if (t.to === "needs_info") {
      if (openSince) unclosed.push(openSince);
      openSince = t.at;
    }
  }
  if (openSince && openSince !== report.needsInfoSince) unclosed.push(openSince);
  let left = report.pausedMs - ended.reduce((sum, p) => sum + (Date.parse(p.to) - Date.parse(p.from)), 0);
  if (unclosed.length === 1 && left > 0) {
    ended.push({ from: unclosed[0]!, to: new Date(Date.parse(unclosed[0]!) + left).toISOString() });
    left = 0;
  }
  return ended;
}

/** Where a report stands against the disclosure deadline. */
export interface DisclosureDeadline {
  /** When the report is to be disclosed: receipt plus the days its terms promise, in wall time (calendars do not apply). */
  dueAt: string;
  /** `running`: not disclosed yet and not due; `missed`: not disclosed and past due, or disclosed late; `met`: disclosed in time. */
  state: "running" | "missed" | "met";
  /** When the report was disclosed, if it was. */
  stoppedAt: string | null;
}

/**
 * The disclosure deadline of a report (default 90 days from receipt): by then its fix is
 * to be published in an advisory. Fixed at receipt like the other deadlines, in calendar
 * days rather than business hours, since it is a promise to the public. None for support
 * reports and for reports closed without a fix (duplicate, informative…): nothing of
 * theirs is to be disclosed.
 */
export function disclosureDeadlineOf(
  report: Pick<SlaReport, "channel" | "state" | "receivedAt" | "serviceTerms"> & { disclosedAt: string | null },
  settings: Settings,
  now: Date,
): DisclosureDeadline | null {
  const terms = termsOf(report, settings);
  if (!terms) return null;
  const days = terms.disclosureDays === undefined ? (settings.advisories?.disclosureDeadlineDays ?? null) : terms.disclosureDays;
  if (days == null) return null;
  if (report.state !== "disclosed" && (CLOSED_WITHOUT_DISCLOSURE as readonly string[]).includes(report.state)) return null;
  const dueMs = Date.parse(report.receivedAt) + days * 86_400_000;
  const dueAt = new Date(dueMs).toISOString();
  if (report.disclosedAt) return { dueAt, state: Date.parse(report.disclosedAt) <= dueMs ? "met" : "missed", stoppedAt: report.disclosedAt };
  return { dueAt, state: now.getTime() > dueMs ? "missed" : "running", stoppedAt: null };
}

/** Closing states: a report closed this way has nothing to disclose. */
const CLOSED_WITHOUT_DISCLOSURE = ["duplicate", "informative", "not_applicable", "spam", "routed_to_support"] as const;
