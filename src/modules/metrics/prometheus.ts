import { METRICS_WINDOW_DAYS, type MetricsSummary } from "./metrics.js";

/**
 * The Prometheus text exposition format, version 0.0.4: `# HELP`, `# TYPE` and one
 * sample per line. Pure. Label values are escaped as the format asks (backslash, double
 * quote, newline), although Shield's own names never need it.
 */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface OperationalCounts {
  /** Open reports by state and channel (every combination, zero included). */
  openReports: Array<{ state: string; channel: string; count: number }>;
  /** Outbox jobs by state (every state, zero included). */
  jobs: Array<{ state: string; count: number }>;
}

type Labels = Record<string, string>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function sample(name: string, labels: Labels, value: number): string {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",");
  return `${name}${text ? `{${text}}` : ""} ${Number.isFinite(value) ? String(value) : "NaN"}`;
}

function family(lines: string[], name: string, help: string, samples: Array<[Labels, number]>): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
  for (const [labels, value] of samples) lines.push(sample(name, labels, value));
}

export function renderPrometheusMetrics(summary: MetricsSummary, counts: OperationalCounts): string {
  const lines: string[] = [];
  const per = <T>(pick: (f: MetricsSummary["channels"][number]["figures"][number]) => T | null) =>
    summary.channels.flatMap((c) =>
      c.figures.flatMap((f) => {
        const value = pick(f);
        return value === null ? [] : [[{ channel: c.channel, metric: f.metric }, Number(value)] as [Labels, number]];
      }),
    );
  const window = `reports received in the last ${METRICS_WINDOW_DAYS} days`;
  family(lines, "shield_report_time_median_seconds", `Median time from receipt to the milestone (HackerOne's names), ${window}; absent when no report reached it.`, per((f) => f.medianSeconds));
  family(lines, "shield_report_within_target_ratio", `Share of decided service-level clocks that met their target, ${window}; open reports past their deadline count as missed; absent when none was decided.`, per((f) => f.shareWithinTarget));
  family(lines, "shield_report_target_met", `Service-level clocks that met their target, ${window}.`, per((f) => (f.metric === "time_to_bounty" ? null : f.met)));
  family(lines, "shield_report_target_missed", `Service-level clocks that missed their target (or are still open past it), ${window}.`, per((f) => (f.metric === "time_to_bounty" ? null : f.missed)));
  family(lines, "shield_report_milestone_reached", `Reports that reached the metric's milestone, ${window}.`, per((f) => f.reached));
  family(
    lines,
    "shield_reports_received",
    `Reports received per channel, ${window}.`,
    summary.channels.map((c) => [{ channel: c.channel }, c.received]),
  );
  family(
    lines,
    "shield_report_metrics_computed_timestamp_seconds",
    "When the figures above (the last 90 days) were worked out, in seconds since the epoch: they are stored and worked out again at most once a minute.",
    [[{}, Date.parse(summary.to) / 1000]],
  );
  family(
    lines,
    "shield_reports_open",
    "Open reports (new, acknowledged, needs_info, triaged) by state and channel.",
    counts.openReports.map((r) => [{ state: r.state, channel: r.channel }, r.count]),
  );
  family(
    lines,
    "shield_outbox_jobs",
    "Outbox jobs (mail, webhooks, notices) by state.",
    counts.jobs.map((j) => [{ state: j.state }, j.count]),
  );
  return `${lines.join("\n")}\n`;
}
