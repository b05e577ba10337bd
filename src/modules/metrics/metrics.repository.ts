import { nextTurn, slicesWithTurns } from "../../platform/db/slices.js";
import type { Executor } from "../../platform/db/database.js";
import type { MetricsReport } from "./metrics.js";
import type { Channel, ReportState, Severity } from "../reports/index.js";
import type { ServiceTerms } from "../sla/index.js";

const METRICS_COLUMNS = [
  "id",
  "service_terms",
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
] as const;

const SLICE_MS = 86_400_000;

/**
 * What the metrics need of each report received from `since` (ISO) to `until`, of the
 * given channels, at most `pageSize` reports at a time. The window is walked a day at a
 * time: a day's ids come from the receipt index, then its reports are read by id, with a
 * turn of the event loop between queries (`slicesWithTurns`), so that requests are answered
 * while a busy quarter is read (reading all 178,000 ids of a quarter at once held the event
 * loop for 90–150 ms).
 */
export async function* pagesOfReportsReceivedSince(db: Executor, since: string, until: string, channels: readonly string[], pageSize: number): AsyncGenerator<MetricsReport[]> {
  const endMs = Date.parse(until);
  for (let fromMs = Date.parse(since); fromMs <= endMs; fromMs += SLICE_MS) {
    await nextTurn();
    const ids = (
      await db
        .selectFrom("reports")
        .select("id")
        .where("received_at", ">=", new Date(fromMs).toISOString())
        .where("received_at", fromMs + SLICE_MS > endMs ? "<=" : "<", new Date(Math.min(fromMs + SLICE_MS, endMs)).toISOString())
        .execute()
    ).map((row) => row.id);
    for await (const page of slicesWithTurns(ids, pageSize)) {
      const rows = await db
        .selectFrom("reports")
        .select([...METRICS_COLUMNS])
        .where("id", "in", page)
        .where("channel", "in", [...channels])
        .execute();
      if (rows.length === 0) continue;
      yield rows.map((r) => ({
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
        serviceTerms: r.service_terms == null ? null : (JSON.parse(r.service_terms) as ServiceTerms),
        bountyAwardedAt: r.bounty_awarded_at,
      }));
    }
  }
}

export interface MetricsSnapshot {
  basis: string;
  computedAt: string;
  body: string;
  refreshingUntil: string | null;
}

export async function readMetricsSnapshot(db: Executor, name: string): Promise<MetricsSnapshot | undefined> {
  const row = await db.selectFrom("metrics_snapshots").selectAll().where("name", "=", name).executeTakeFirst();
  return row && { basis: row.basis, computedAt: row.computed_at, body: row.body, refreshingUntil: row.refreshing_until };
}

/** Keeps `snapshot` unless a newer one is stored already (another process may have finished first). */
export async function storeMetricsSnapshot(db: Executor, name: string, snapshot: Omit<MetricsSnapshot, "refreshingUntil">): Promise<void> {
  const values = { basis: snapshot.basis, computed_at: snapshot.computedAt, body: snapshot.body, refreshing_until: null };
  await db
    .insertInto("metrics_snapshots")
    .values({ name, ...values })
    .onConflict((oc) => oc.column("name").doUpdateSet(values).where("metrics_snapshots.computed_at", "<=", snapshot.computedAt))
    .execute();
}

/**
 * Claims the next refresh of the snapshot computed at `computedAt` until `until`: true for
 * one caller, until it stores a new snapshot or the claim runs out (a process that stopped
 * while working).
 */
export async function claimMetricsRefresh(db: Executor, name: string, computedAt: string, now: string, until: string): Promise<boolean> {
  const result = await db
    .updateTable("metrics_snapshots")
    .set({ refreshing_until: until })
    .where("name", "=", name)
    .where("computed_at", "=", computedAt)
    .where((eb) => eb.or([eb("refreshing_until", "is", null), eb("refreshing_until", "<", now)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
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
