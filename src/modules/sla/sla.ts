import type { Report, Severity, TrackedChannel } from "../reports/report.js";
import type { Settings } from "../settings/index.js";

/**
 * Service-level deadlines. Pure. A clock starts at receipt (the policy page promises a
 * reply within N hours of the submission) and is pushed back by the time the report
 * spent waiting for its reporter.
 */
export interface Deadlines {
  firstResponse: string | null;
  triage: string | null;
  resolution: string | null;
}

function addMinutes(iso: string, minutes: number, pausedMs: number): string {
  return new Date(Date.parse(iso) + minutes * 60_000 + pausedMs).toISOString();
}

/** Minutes promised for the first human response on a channel, or null when none is promised. */
export function firstResponseTarget(settings: Settings, channel: TrackedChannel): number | null {
  return settings.targets[channel].firstResponse;
}

export function computeDeadlines(report: Pick<Report, "channel" | "receivedAt" | "pausedMs" | "severity">, settings: Settings): Deadlines {
  if (report.channel === "support") return { firstResponse: null, triage: null, resolution: null };
  const targets = settings.targets[report.channel];
  const resolution = report.severity ? settings.resolutionTargets[report.severity as Severity] : null;
  return {
    firstResponse: targets.firstResponse == null ? null : addMinutes(report.receivedAt, targets.firstResponse, report.pausedMs),
    triage: targets.triage == null ? null : addMinutes(report.receivedAt, targets.triage, report.pausedMs),
    resolution: resolution == null ? null : addMinutes(report.receivedAt, resolution, report.pausedMs),
  };
}
