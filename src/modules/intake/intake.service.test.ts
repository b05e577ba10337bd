import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { systemClock } from "../../shared/clock.js";
import { verifyAuditLog } from "../audit/index.js";
import { SENDER_TURN_MS } from "../../platform/jobs/outbox.repository.js";
import { submitReport } from "./intake.service.js";

forEachDatabase((kind) => {
  describe("reports submitted at the same moment (group commit)", () => {
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind);
    });
    afterAll(async () => shield.destroy());

    const titles = async (prefix: string) =>
      (await shield.database.db.selectFrom("reports").select("title").where("title", "like", `${prefix}%`).orderBy("id").execute()).map((r) => r.title);

    it("are each stored once, with their own audit event and jobs, and the audit chain stays whole", async () => {
      const submitted = await Promise.all(
        Array.from({ length: 40 }, (_, i) => submitReport({ ...shield.deps, clock: systemClock }, buildReportInput({ title: `together ${i}` }), "api")),
      );
      const ids = submitted.map((s) => s.report.id);
      expect(new Set(ids).size).toBe(40);
      expect((await titles("together ")).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `together ${i}`).sort());
      const events = await shield.database.db.selectFrom("audit_events").select("subject_id").where("action", "=", "report.received").execute();
      expect(events.filter((e) => ids.includes(Number(e.subject_id)))).toHaveLength(40);
      const receipts = await shield.database.db.selectFrom("jobs").select("payload").where("kind", "=", "mail.receipt").execute();
      expect(receipts.filter((j) => ids.includes((JSON.parse(j.payload) as { reportId: number }).reportId))).toHaveLength(40);
      const verification = await verifyAuditLog(shield.database.db);
      expect(verification.problems).toEqual([]);
      expect(verification.ok).toBe(true);
    });

    it("lose only the one whose work fails among forty: the other thirty-nine are stored once each, with their event and jobs, and the chain verifies", async () => {
      const title = (i: number) => `batch ${String(i).padStart(2, "0")}`;
      const outcomes = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          // The others hand their rows to the batch's end (no onStored); the failing one's work
          // runs after seventeen of them, so their rows are rolled back and written again once.
          submitReport({ ...shield.deps, clock: systemClock }, buildReportInput({ title: title(i) }), "api", i === 17 ? {
            onStored: async () => {
              throw new Error("the eighteenth cannot be stored");
            },
          } : {}),
        ),
      );
      expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 40 }, (_, i) => (i === 17 ? "rejected" : "fulfilled")));
      expect((outcomes[17] as PromiseRejectedResult).reason).toEqual(new Error("the eighteenth cannot be stored"));
      const expected = Array.from({ length: 40 }, (_, i) => title(i)).filter((t) => t !== "batch 17");
      expect((await titles("batch ")).sort()).toEqual(expected);
      const ids = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.report.id] : []));
      const db = shield.database.db;
      const events = await db.selectFrom("audit_events").select("subject_id").where("action", "=", "report.received").where("subject_id", "in", ids.map(String)).execute();
      expect(events.map((e) => Number(e.subject_id)).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
      // Each report's receipt and its report.received event (the notifications' job).
      const kinds = ["mail.receipt", "on:report.received:team-notices"];
      const jobs = await db.selectFrom("jobs").select(["kind", "payload"]).where("kind", "in", kinds).execute();
      for (const kind of kinds) {
        const forBatch = jobs.filter((j) => j.kind === kind).map((j) => (JSON.parse(j.payload) as { reportId: number }).reportId).filter((id) => ids.includes(id));
        expect(forBatch.sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
      }
      const verification = await verifyAuditLog(db);
      expect(verification.problems).toEqual([]);
      expect(verification.ok).toBe(true);
    });

    it("give each report's event a number in one order and a fair turn to each sender's jobs, as if written one by one", async () => {
      const submitted = await Promise.all(
        Array.from({ length: 10 }, (_, i) => submitReport({ ...shield.deps, clock: systemClock }, buildReportInput({ title: `in turn ${i}` }), "api", { sender: "203.0.113.9" })),
      );
      const db = shield.database.db;
      const ids = submitted.map((s) => s.report.id);
      const events = await db.selectFrom("audit_events").select(["seq", "subject_id"]).where("action", "=", "report.received").where("subject_id", "in", ids.map(String)).orderBy("seq").execute();
      // One batch: consecutive numbers, in the order the reports were stored.
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => events[0]!.seq + i));
      expect(events.map((e) => Number(e.subject_id))).toEqual([...ids].sort((a, b) => a - b));
      const turns = await db.selectFrom("jobs").select("fair_at").where("fairness_key", "=", "client:203.0.113.9").orderBy("fair_at").execute();
      expect(turns).toHaveLength(20);
      const gaps = turns.slice(1).map((t, i) => new Date(t.fair_at).getTime() - new Date(turns[i]!.fair_at).getTime());
      expect(gaps.every((gap) => gap >= SENDER_TURN_MS)).toBe(true);
    });
  });
});
