import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeClock, HOUR } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import type { Actor } from "../audit/index.js";
import { findReport, transitionReport } from "./index.js";
import { readPauses, readPausesOf } from "./report-pauses.repository.js";

forEachDatabase((kind) => {
  describe("reading the pauses of reports", () => {
    let shield: TestShield;
    let clock: FakeClock;
    let actor: Actor;

    beforeEach(async () => {
      clock = new FakeClock("2026-03-02T09:00:00.000Z");
      shield = await createTestShield(kind, { clock });
      const { member } = await shield.addMember("triager");
      actor = { kind: "user", userId: member.id, email: member.email };
    });
    afterEach(() => shield.destroy());

    async function submit(): Promise<number> {
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel: "vulnerability" }) });
      expect(response.statusCode).toBe(201);
      return response.json().id;
    }

    async function move(id: number, to: "acknowledged" | "needs_info"): Promise<void> {
      const settings = await shield.settings.get();
      await transitionReport({ ...shield.deps, clock }, settings, actor, id, { to, reason: "testing pauses", ...(to === "needs_info" ? { message: "Which version?" } : {}) });
    }

    it("gives each report its own ended pauses, in one read for many, as when read one by one", async () => {
      const [twice, once, never, waiting] = [await submit(), await submit(), await submit(), await submit()];
      for (const id of [twice, once, never, waiting]) await move(id, "acknowledged");
      await move(twice, "needs_info");
      clock.advance(HOUR);
      await move(once, "needs_info");
      await move(twice, "acknowledged");
      clock.advance(2 * HOUR);
      await move(once, "acknowledged");
      await move(twice, "needs_info");
      await move(waiting, "needs_info");
      clock.advance(3 * HOUR);
      await move(twice, "acknowledged");

      const db = shield.database.db;
      const reports = await Promise.all([twice, once, never, waiting].map(async (id) => (await findReport(db, id))!));
      const pauses = await readPausesOf(db, reports);
      expect(pauses.get(twice)).toEqual([
        { from: "2026-03-02T09:00:00.000Z", to: "2026-03-02T10:00:00.000Z" },
        { from: "2026-03-02T12:00:00.000Z", to: "2026-03-02T15:00:00.000Z" },
      ]);
      expect(pauses.get(once)).toEqual([{ from: "2026-03-02T10:00:00.000Z", to: "2026-03-02T12:00:00.000Z" }]);
      // Never paused: nothing to read. Still waiting: its running pause is on the row, not here.
      expect(pauses.has(never)).toBe(false);
      expect(pauses.has(waiting)).toBe(false);
      for (const report of reports) expect(await readPauses(db, report)).toEqual(pauses.get(report.id) ?? []);

      // As many paused reports as the metrics of a busy quarter (more than a statement takes
      // parameters on SQLite): the real ones are still found among them.
      const many = [...Array.from({ length: 33_000 }, (_, n) => ({ id: 1_000_000 + n, pausedMs: 1, needsInfoSince: null })), ...reports];
      const ofMany = await readPausesOf(db, many);
      expect(ofMany.get(twice)).toEqual(pauses.get(twice));
      expect(ofMany.get(once)).toEqual(pauses.get(once));
      expect(ofMany.get(1_000_000)).toEqual([]);
    });
  });
});
