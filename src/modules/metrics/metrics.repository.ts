import type { Executor } from "../../platform/db/database.js";
import type { MetricsReport } from "./metrics.js";
import type { Channel, ReportState, Severity } from "../reports/index.js";

/** What the metrics need of each report received since `since` (ISO), tracked channels only. */
export async function listReportsReceivedSince(db: Executor, since: string, channels: readonly string[]): Promise<MetricsReport[]> {
  const rows = await db
    .selectFrom("reports")
    .select([
      "id",
      "channel",
      "state",
      "severity",
      "received_at",
      "acknowledged_at",
      "triaged_at",
      "resolved_at",
      "closed_at",
      "paused_ms",
      "needs_info_since",
      "bounty_awarded_at",
    ])
    .where("received_at", ">=", since)
    .where("channel", "in", [...channels])
    .orderBy("id")
    .execute();
  return rows.map((r) => ({
    id: r.id,
    channel: r.channel as Channel,
    state: r.state as ReportState,
    severity: r.severity as Severity | null,
    receivedAt: r.received_at,
    acknowledgedAt: r.acknowledged_at,
    triagedAt: r.triaged_at,
    resolvedAt: r.resolved_at,
    closedAt: r.closed_at,
    pausedMs: Number(r.paused_ms),
    needsInfoSince: r.needs_info_since,
    bountyAwardedAt: r.bounty_awarded_at,
  }));
}

export async function countReportsByStateAndChannel(db: Executor, states: readonly string[]): Promise<Array<{ state: string; channel: string; count: number }>> {
  const rows = await db
    .selectFrom("reports")
    .select(["state", "channel", (eb) => eb.fn.countAll<number>().as("n")])
    .where("state", "in", [...states])
    .groupBy(["state", "channel"])
    .execute();
  return rows.map((r) => ({ state: r.state, channel: r.channel, count: Number(r.n) }));
}

export async function countJobsByState(db: Executor): Promise<Array<{ state: string; count: number }>> {
  const rows = await db
    .selectFrom("jobs")
    .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy("state")
    .execute();
  return rows.map((r) => ({ state: r.state, count: Number(r.n) }));
}
