import { TRACKED_CHANNELS, type TrackedChannel } from "../reports/index.js";
import type { Settings } from "../settings/index.js";
import { evaluateServiceLevels, type PauseInterval, type SlaReport, type SlaTarget } from "../sla/index.js";

/**
 * Service-level metrics with HackerOne's names, over the reports received in the last
 * 90 days, per tracked channel. Pure: the caller passes the reports, settings and `now`.
 *
 * - The median is wall time from receipt to the milestone, over the reports that reached
 *   it: what a reporter experienced. First response counts a closing answer too (closing
 *   sends the reporter a message), as the service-level engine does.
 * - The share within target is decided by `evaluateServiceLevels`, the engine that sends
 *   warnings and misses, so business-hours calendars and `needs_info` pauses count the
 *   same way here as there. A clock that stopped in time is met; one that stopped late,
 *   or is still running past its deadline, is missed; one still running before its
 *   deadline is not decided yet and is left out of the share.
 * - Time to bounty has no target, so it has a median only.
 */
export const METRICS_WINDOW_DAYS = 90;

export const METRICS = ["time_to_first_response", "time_to_triage", "time_to_bounty", "time_to_resolution"] as const;
export type MetricName = (typeof METRICS)[number];

export const METRIC_LABELS: Record<MetricName, string> = {
  time_to_first_response: "Time to first response",
  time_to_triage: "Time to triage",
  time_to_bounty: "Time to bounty",
  time_to_resolution: "Time to resolution",
};

const TARGET_OF: Record<MetricName, SlaTarget | null> = {
  time_to_first_response: "firstResponse",
  time_to_triage: "triage",
  time_to_bounty: null,
  time_to_resolution: "resolution",
};

export type MetricsReport = SlaReport & { id: number; bountyAwardedAt: string | null };

export interface MetricFigure {
  metric: MetricName;
  /** Reports that reached the milestone (the median's sample). */
  reached: number;
  medianSeconds: number | null;
  /** The 90th percentile (nearest rank) of the same sample; absent in figures stored before it was kept. */
  percentile90Seconds?: number | null;
  /** The channel's target in minutes; null for bounty, and for resolution (it depends on severity). */
  targetMinutes: number | null;
  met: number;
  missed: number;
  /** met / (met + missed); null when no clock was decided. */
  shareWithinTarget: number | null;
}

export interface ChannelMetrics {
  channel: TrackedChannel;
  /** Reports of the channel received in the window. */
  received: number;
  figures: MetricFigure[];
}

export interface MetricsSummary {
  from: string;
  to: string;
  windowDays: number;
  channels: ChannelMetrics[];
}

/** The start of the window for `now`. */
export function metricsWindowStart(now: Date): Date {
  return new Date(now.getTime() - METRICS_WINDOW_DAYS * 86_400_000);
}

/** The nearest-rank percentile `p` (0 < p ≤ 1): the smallest value that at least p of the values do not exceed. */
export function percentile(values: readonly number[] | Float64Array, p: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** The middle value; for an even count the mean of the two middle ones. */
export function median(values: readonly number[] | Float64Array): number | null {
  if (values.length === 0) return null;
  // A typed array sorts numerically without a comparator: a window holds hundreds of thousands.
  const sorted = Float64Array.from(values).sort();
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function milestoneOf(report: MetricsReport, metric: MetricName): string | null {
  switch (metric) {
    case "time_to_first_response":
      return report.acknowledgedAt ?? report.closedAt;
    case "time_to_triage":
      return report.triagedAt;
    case "time_to_bounty":
      return report.bountyAwardedAt;
    case "time_to_resolution":
      return report.resolvedAt;
  }
}

interface ChannelTally {
  received: number;
  durations: Map<MetricName, number[]>;
  decided: Map<SlaTarget, { met: number; missed: number }>;
}

/**
 * The figures of every tracked channel, added up a page of reports at a time: the window
 * of a busy program holds hundreds of thousands of them, read in pages so that requests
 * are answered in between. `summary()` may be called once all pages are in.
 */
export class MetricsTally {
  private readonly fromMs: number;
  private readonly nowMs: number;
  private readonly channels = new Map<string, ChannelTally>(
    TRACKED_CHANNELS.map((channel) => [channel, { received: 0, durations: new Map(METRICS.map((m) => [m, []])), decided: new Map() }]),
  );

  constructor(
    private readonly settings: Settings,
    private readonly now: Date,
  ) {
    this.fromMs = metricsWindowStart(now).getTime();
    this.nowMs = now.getTime();
  }

  /** Counts `reports` (any channel and time: those outside the window are left out); `pauses` as the periodic check reads them, by report id. */
  add(reports: readonly MetricsReport[], pauses: ReadonlyMap<number, readonly PauseInterval[]> = new Map()): void {
    for (const report of reports) {
      const tally = this.channels.get(report.channel);
      const receivedMs = Date.parse(report.receivedAt);
      if (!tally || !(receivedMs >= this.fromMs && receivedMs <= this.nowMs)) continue;
      tally.received++;
      for (const metric of METRICS) {
        const at = milestoneOf(report, metric);
        if (at) tally.durations.get(metric)!.push(Math.max(0, (Date.parse(at) - receivedMs) / 1000));
      }
      for (const status of evaluateServiceLevels(report, this.settings, this.now, pauses.get(report.id))) {
        const decided = tally.decided.get(status.target) ?? { met: 0, missed: 0 };
        if (status.state === "met") decided.met++;
        else if (status.state === "missed") decided.missed++;
        tally.decided.set(status.target, decided);
      }
    }
  }

  summary(): MetricsSummary {
    const channels = TRACKED_CHANNELS.map((channel): ChannelMetrics => {
      const { received, durations, decided } = this.channels.get(channel)!;
      const figures = METRICS.map((metric): MetricFigure => {
        const target = TARGET_OF[metric];
        const tally = target ? (decided.get(target) ?? { met: 0, missed: 0 }) : { met: 0, missed: 0 };
        const sample = durations.get(metric)!;
        return {
          metric,
          reached: sample.length,
          medianSeconds: median(sample),
          percentile90Seconds: percentile(sample, 0.9),
          targetMinutes: target === "firstResponse" || target === "triage" ? this.settings.targets[channel][target] : null,
          met: tally.met,
          missed: tally.missed,
          shareWithinTarget: tally.met + tally.missed === 0 ? null : tally.met / (tally.met + tally.missed),
        };
      });
      return { channel, received, figures };
    });
    return { from: new Date(this.fromMs).toISOString(), to: this.now.toISOString(), windowDays: METRICS_WINDOW_DAYS, channels };
  }
}

/**
 * The figures of every tracked channel at once. `pauses` gives the ended pauses of
 * reports that waited for their reporter (by report id), as the periodic check reads them.
 */
export function summariseMetrics(reports: readonly MetricsReport[], settings: Settings, now: Date, pauses: ReadonlyMap<number, readonly PauseInterval[]> = new Map()): MetricsSummary {
  const tally = new MetricsTally(settings, now);
  tally.add(reports, pauses);
  return tally.summary();
}

/** "3 h 20 min", "2 d 4 h", "45 s": a duration as the metrics page shows it. */
export function describeSeconds(seconds: number | null): string {
  if (seconds === null) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** "87 %", or "—" when nothing was decided. */
export function describeShare(share: number | null): string {
  return share === null ? "—" : `${Math.round(share * 100)} %`;
}
