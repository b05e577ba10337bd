import { describe, expect, it } from "vitest";
import { DAY, FakeClock, HOUR, MINUTE } from "../../../test/clock.js";
import { DEFAULT_SETTINGS, type Settings } from "../settings/index.js";
import { renderShareChart } from "./metrics-chart.js";
import { describeSeconds, median, percentile, summariseMetrics, type MetricsReport } from "./metrics.js";
import { renderPrometheusMetrics } from "./prometheus.js";

let nextId = 0;
function report(overrides: Partial<MetricsReport> & { receivedAt: string }): MetricsReport {
  return {
    id: ++nextId,
    channel: "vulnerability",
    state: "new",
    severity: null,
    acknowledgedAt: null,
    triagedAt: null,
    resolvedAt: null,
    closedAt: null,
    pausedMs: 0,
    needsInfoSince: null,
    bountyAwardedAt: null,
    ...overrides,
  };
}
const after = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

function figure(summary: ReturnType<typeof summariseMetrics>, channel: string, metric: string) {
  return summary.channels.find((c) => c.channel === channel)!.figures.find((f) => f.metric === metric)!;
}

describe("service-level metrics", () => {
  const clock = new FakeClock("2026-06-15T12:00:00.000Z");
  const now = clock.now();
  const daysAgo = (d: number) => new Date(now.getTime() - d * DAY).toISOString();

  it("takes the median of the time from receipt to the first response", () => {
    const received = [daysAgo(10), daysAgo(9), daysAgo(8)];
    const reports = [
      report({ receivedAt: received[0]!, state: "acknowledged", acknowledgedAt: after(received[0]!, 2 * HOUR) }),
      report({ receivedAt: received[1]!, state: "acknowledged", acknowledgedAt: after(received[1]!, 10 * HOUR) }),
      report({ receivedAt: received[2]!, state: "spam", closedAt: after(received[2]!, 30 * MINUTE) }),
    ];
    const f = figure(summariseMetrics(reports, DEFAULT_SETTINGS, now), "vulnerability", "time_to_first_response");
    expect(f.reached).toBe(3);
    expect(f.medianSeconds).toBe(2 * 3600);
    expect(f.targetMinutes).toBe(72 * 60);
    expect(f.shareWithinTarget).toBe(1);
  });

  it("counts a report still open past its deadline as missed, and one still in time as undecided", () => {
    const reports = [
      report({ receivedAt: daysAgo(5) }), // 72 h target: 5 days open, missed
      report({ receivedAt: daysAgo(1) }), // still running
      report({ receivedAt: daysAgo(6), state: "acknowledged", acknowledgedAt: after(daysAgo(6), HOUR) }),
    ];
    const f = figure(summariseMetrics(reports, DEFAULT_SETTINGS, now), "vulnerability", "time_to_first_response");
    expect({ met: f.met, missed: f.missed, share: f.shareWithinTarget }).toEqual({ met: 1, missed: 1, share: 0.5 });
  });

  it("counts only business hours when the channel has a calendar, as the alerts do", () => {
    // Friday 16:00 UTC, acknowledged Monday 09:30 UTC: 65.5 wall hours, 1.5 business hours.
    const receivedAt = "2026-06-12T16:00:00.000Z";
    const reports = [report({ channel: "account_attack", receivedAt, state: "acknowledged", acknowledgedAt: "2026-06-15T09:30:00.000Z" })];
    const roundTheClock = figure(summariseMetrics(reports, DEFAULT_SETTINGS, now), "account_attack", "time_to_first_response");
    expect(roundTheClock.shareWithinTarget).toBe(0);
    const withCalendar: Settings = {
      ...DEFAULT_SETTINGS,
      calendars: { ...DEFAULT_SETTINGS.calendars, account_attack: { timeZone: "UTC", workingDays: ["mon", "tue", "wed", "thu", "fri"], opensAt: "09:00", closesAt: "17:00", holidays: [] } },
    };
    const business = figure(summariseMetrics(reports, withCalendar, now), "account_attack", "time_to_first_response");
    expect(business.shareWithinTarget).toBe(1);
    // The median stays the wall time the reporter waited.
    expect(business.medianSeconds).toBe(65.5 * 3600);
  });

  it("does not count time spent waiting for the reporter against the triage target", () => {
    const receivedAt = daysAgo(30);
    const pausedFrom = after(receivedAt, 2 * DAY);
    const pausedTo = after(receivedAt, 9 * DAY);
    const reports = [
      report({
        receivedAt,
        state: "triaged",
        severity: "low",
        acknowledgedAt: after(receivedAt, HOUR),
        triagedAt: after(receivedAt, 14 * DAY), // 14 days wall time, 7 days paused: 7 days running
        pausedMs: 7 * DAY,
      }),
    ];
    const pauses = new Map([[reports[0]!.id, [{ from: pausedFrom, to: pausedTo }]]]);
    expect(figure(summariseMetrics(reports, DEFAULT_SETTINGS, now, pauses), "vulnerability", "time_to_triage").shareWithinTarget).toBe(1);
    const unpaused = [{ ...reports[0]!, pausedMs: 0 }];
    expect(figure(summariseMetrics(unpaused, DEFAULT_SETTINGS, now), "vulnerability", "time_to_triage").shareWithinTarget).toBe(0);
  });

  it("measures time to bounty and time to resolution, and leaves out reports older than 90 days", () => {
    const receivedAt = daysAgo(40);
    const reports = [
      report({ receivedAt, state: "resolved", severity: "high", acknowledgedAt: after(receivedAt, HOUR), triagedAt: after(receivedAt, DAY), resolvedAt: after(receivedAt, 20 * DAY), bountyAwardedAt: after(receivedAt, 3 * DAY) }),
      report({ receivedAt: daysAgo(91), state: "resolved", severity: "high", acknowledgedAt: daysAgo(90), triagedAt: daysAgo(89), resolvedAt: daysAgo(50) }),
    ];
    const summary = summariseMetrics(reports, DEFAULT_SETTINGS, now);
    expect(summary.channels.find((c) => c.channel === "vulnerability")!.received).toBe(1);
    expect(figure(summary, "vulnerability", "time_to_bounty").medianSeconds).toBe(3 * 86400);
    expect(figure(summary, "vulnerability", "time_to_bounty").shareWithinTarget).toBeNull();
    const resolution = figure(summary, "vulnerability", "time_to_resolution");
    expect(resolution.medianSeconds).toBe(20 * 86400);
    expect(resolution.shareWithinTarget).toBe(1); // high: 30 days
    expect(summary.from).toBe(daysAgo(90));
  });

  it("finds the median of an even count and of nothing", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
    expect(describeSeconds(90 * 60)).toBe("1 h 30 min");
    expect(describeSeconds(3 * 86400 + 4 * 3600)).toBe("3 d 4 h");
  });
});

describe("Prometheus text and the chart", () => {
  const now = new Date("2026-06-15T12:00:00.000Z");
  const receivedAt = "2026-06-10T12:00:00.000Z";
  const summary = summariseMetrics(
    [
      report({ receivedAt, state: "acknowledged", acknowledgedAt: after(receivedAt, HOUR) }),
      report({ receivedAt, channel: "account_attack" }),
    ],
    DEFAULT_SETTINGS,
    now,
  );

  it("writes gauges with channel and metric labels in the text format 0.0.4", () => {
    const text = renderPrometheusMetrics(summary, { openReports: [{ state: "new", channel: "account_attack", count: 1 }], jobs: [{ state: "dead", count: 2 }] });
    const lines = text.trim().split("\n");
    expect(lines).toContain("# TYPE shield_report_time_median_seconds gauge");
    expect(lines).toContain('shield_report_time_median_seconds{channel="vulnerability",metric="time_to_first_response"} 3600');
    expect(lines).toContain('shield_report_within_target_ratio{channel="vulnerability",metric="time_to_first_response"} 1');
    expect(lines).toContain('shield_report_within_target_ratio{channel="account_attack",metric="time_to_first_response"} 0');
    expect(lines).toContain('shield_reports_open{state="new",channel="account_attack"} 1');
    expect(lines).toContain('shield_outbox_jobs{state="dead"} 2');
    // No sample for a median nobody reached.
    expect(text).not.toMatch(/shield_report_time_median_seconds\{channel="sensitive"/);
    for (const line of lines) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+|\w+(\{[^}]*\})? NaN)$/);
    expect(text.endsWith("\n")).toBe(true);
  });

  it("draws the share within target as labelled bars without inline style", () => {
    const svg = renderShareChart(summary);
    expect(svg).toMatch(/<title id="share-chart-title">Share of reports within target/);
    expect(svg).toContain('role="img"');
    expect(svg).toContain(">Vulnerability: Time to first response</text>");
    expect(svg).toContain(">100 % of 1</text>");
    expect(svg).toContain(">0 % of 1</text>");
    expect(svg).toContain(">no decided reports</text>");
    expect(svg).not.toMatch(/style=|<script|\son\w+=/i);
    expect(svg).not.toContain("Time to bounty");
  });
});

describe("the 90th percentile", () => {
  it("is the smallest value that at least 90 % of the values do not exceed (nearest rank)", () => {
    expect(percentile([10, 1, 9, 2, 8, 3, 7, 4, 6, 5], 0.9)).toBe(9);
    expect(percentile([5], 0.9)).toBe(5);
    expect(percentile(Array.from({ length: 11 }, (_, i) => i + 1), 0.9)).toBe(10);
    expect(percentile([], 0.9)).toBeNull();
  });
});
