import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DAY, FakeClock, MINUTE } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { updateSetting } from "../settings/index.js";
import { readPausesOf } from "../reports/index.js";
import { metricsWindowStart, summariseMetrics, type MetricsReport } from "./metrics.js";
import { claimMetricsRefresh, pagesOfReportsReceivedSince, readMetricsSnapshot, storeMetricsSnapshot } from "./metrics.repository.js";
import { ServiceLevelMetrics, summariseServiceLevels } from "./metrics.service.js";

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

forEachDatabase((kind) => {
  let shield: TestShield;
  let clock: FakeClock;
  let viewer: { authorization: string };

  beforeAll(async () => {
    clock = new FakeClock("2026-06-15T09:00:00.000Z");
    shield = await createTestShield(kind, { clock });
    viewer = (await shield.addMember("viewer")).auth;
  });
  afterAll(async () => shield.destroy());

  const submit = async (channel: "vulnerability" | "account_attack" | "sensitive" = "vulnerability") => {
    const res = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel }) });
    expect(res.statusCode).toBe(201);
    return res.json().id as number;
  };
  /** The scrape's `shield_reports_received` of the vulnerability channel, and when its figures were worked out. */
  const scrape = async () => {
    const res = await shield.app.inject({ method: "GET", url: "/metrics", headers: viewer });
    expect(res.statusCode).toBe(200);
    const value = (name: string) => Number(res.body.split("\n").find((line) => line.startsWith(name))?.split(" ")[1]);
    return {
      received: value('shield_reports_received{channel="vulnerability"}'),
      computedAt: new Date(value("shield_report_metrics_computed_timestamp_seconds") * 1000).toISOString(),
      targetMinutes: res.body.includes('shield_report_within_target_ratio{channel="vulnerability",metric="time_to_first_response"}'),
      open: value('shield_reports_open{state="new",channel="vulnerability"}'),
    };
  };

  describe("stored service-level figures", () => {
    it("are read from the store for a minute, shown while newer ones are worked out for 15 minutes, and waited for after that", async () => {
      await submit();
      await submit();
      const first = await scrape();
      expect(first).toMatchObject({ received: 2, computedAt: clock.now().toISOString(), open: 2 });

      // A new report within the minute: the figures of 90 days stay as they were, the open count is live.
      await submit();
      clock.advance(30_000);
      expect(await scrape()).toMatchObject({ received: 2, computedAt: first.computedAt, open: 3 });

      // Past a minute: the stored figures answer at once, and newer ones follow.
      clock.advance(31_000);
      const refreshedAt = clock.now().toISOString();
      expect(await scrape()).toMatchObject({ received: 2, computedAt: first.computedAt });
      await vi.waitFor(async () => expect(await scrape()).toMatchObject({ received: 3, computedAt: refreshedAt }), { timeout: 20_000, interval: 50 });

      // Past 15 minutes the stored figures are too old to show: the scrape waits for new ones.
      await submit();
      clock.advance(16 * MINUTE);
      expect(await scrape()).toMatchObject({ received: 4, computedAt: clock.now().toISOString() });
    });

    it("are worked out again at once when a target changes, with the verdicts of reports already received unchanged", async () => {
      const before = await scrape();
      const ratio = 'shield_report_within_target_ratio{channel="vulnerability",metric="time_to_first_response"}';
      // The reports so far are unanswered and well inside their 72 hours: no first response decided.
      expect(before.targetMinutes).toBe(false);
      clock.advance(1000);
      const settings = await shield.settings.get();
      await updateSetting(shield.settings, clock, { kind: "cli" }, "targets", { ...settings.targets, vulnerability: { ...settings.targets.vulnerability, firstResponse: 10 } });
      const after = await scrape();
      expect(after.computedAt).toBe(clock.now().toISOString());
      expect(after.computedAt).not.toBe(before.computedAt);
      expect((await shield.app.inject({ method: "GET", url: "/metrics", headers: viewer })).body).not.toContain(ratio);
      // A report received after the change is held to the new 10 minutes.
      await submit();
      clock.advance(11 * MINUTE);
      await updateSetting(shield.settings, clock, { kind: "cli" }, "targets", { ...settings.targets, vulnerability: { ...settings.targets.vulnerability, firstResponse: 11 } });
      expect((await shield.app.inject({ method: "GET", url: "/metrics", headers: viewer })).body).toContain(`${ratio} 0`);
    });

    it("are worked out by one process at a time: a second one finds the refresh claimed", async () => {
      const db = shield.database.db;
      const snapshot = (await readMetricsSnapshot(db, "service_levels"))!;
      const now = clock.now();
      const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
      expect(await claimMetricsRefresh(db, "service_levels", snapshot.computedAt, at(0), at(5 * MINUTE))).toBe(true);
      expect(await claimMetricsRefresh(db, "service_levels", snapshot.computedAt, at(1000), at(5 * MINUTE))).toBe(false);
      // A process that stopped while working: its claim runs out.
      expect(await claimMetricsRefresh(db, "service_levels", snapshot.computedAt, at(6 * MINUTE), at(11 * MINUTE))).toBe(true);
      // Figures stored by whoever finished: the claim is released, and older figures never replace newer ones.
      await storeMetricsSnapshot(db, "service_levels", { basis: snapshot.basis, computedAt: at(7 * MINUTE), body: snapshot.body });
      await storeMetricsSnapshot(db, "service_levels", { basis: snapshot.basis, computedAt: at(6 * MINUTE), body: "{}" });
      const stored = (await readMetricsSnapshot(db, "service_levels"))!;
      expect(stored).toEqual({ basis: snapshot.basis, computedAt: at(7 * MINUTE), body: snapshot.body, refreshingUntil: null });

      // Two processes that both find stale figures: both show them, and only one works out new ones.
      clock.advance(9 * MINUTE);
      const processes = [new ServiceLevelMetrics(db, shield.settings, clock), new ServiceLevelMetrics(db, shield.settings, clock)];
      const refreshes = processes.map((p) => vi.spyOn(p as unknown as { refresh: () => Promise<unknown> }, "refresh"));
      const reads = await Promise.all(processes.map((p) => p.current()));
      expect(reads).toEqual([JSON.parse(snapshot.body), JSON.parse(snapshot.body)]);
      await vi.waitFor(async () => expect((await readMetricsSnapshot(db, "service_levels"))!.computedAt).toBe(clock.now().toISOString()), { timeout: 20_000, interval: 50 });
      expect(refreshes.map((spy) => spy.mock.calls.length).sort()).toEqual([0, 1]);
      expect((await readMetricsSnapshot(db, "service_levels"))!.refreshingUntil).toBeNull();
    });

    it("reads a window of more than a page, a page at a time with other work answered in between, and only the channels asked for", async () => {
      const db = shield.database.db;
      for (const channel of ["account_attack", "sensitive", "vulnerability", "account_attack"] as const) await submit(channel);
      const now = clock.now();
      const since = metricsWindowStart(now).toISOString();
      const order: string[] = [];
      setImmediate(() => order.push("other work"));
      const pages: MetricsReport[][] = [];
      for await (const page of pagesOfReportsReceivedSince(db, since, now.toISOString(), ["vulnerability", "account_attack"], 2)) {
        pages.push(page);
        order.push(`page ${pages.length}`);
      }
      expect(order[0]).toBe("other work");
      const all = pages.flat();
      const total = await db.selectFrom("reports").select((eb) => eb.fn.countAll<number>().as("n")).where("channel", "in", ["vulnerability", "account_attack"]).executeTakeFirstOrThrow();
      expect(all.length).toBe(Number(total.n));
      expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
      expect(all.some((r) => r.channel === "sensitive")).toBe(false);
      expect(pages.every((page) => page.length <= 2)).toBe(true);

      // The figures worked out page by page are those of every report at once.
      const settings = await shield.settings.get();
      const every = pages.length > 0 ? [...all, ...(await collect(pagesOfReportsReceivedSince(db, since, now.toISOString(), ["sensitive"], 1000)))] : [];
      expect(await summariseServiceLevels(db, shield.settings, clock)).toEqual(summariseMetrics(every, settings, now, await readPausesOf(db, every)));
    });

    it("leave out reports received before the window", async () => {
      const before = await summariseServiceLevels(shield.database.db, shield.settings, clock);
      const received = before.channels.find((c) => c.channel === "vulnerability")!.received;
      clock.advance(91 * DAY);
      const later = await summariseServiceLevels(shield.database.db, shield.settings, clock);
      expect(received).toBeGreaterThan(0);
      expect(later.channels.map((c) => c.received)).toEqual([0, 0, 0]);
    });
  });
});
