import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { systemClock } from "../../shared/clock.js";
import { verifyAuditLog } from "../audit/index.js";
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
        Array.from({ length: 40 }, (_, i) => submitReport(shield.database.db, systemClock, buildReportInput({ title: `together ${i}` }), "api")),
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

    it("lose only the one whose work fails: the others are stored exactly once", async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          submitReport(shield.database.db, systemClock, buildReportInput({ title: `batch ${String(i).padStart(2, "0")}` }), "api", {
            onStored: async () => {
              if (i === 7) throw new Error("the seventh cannot be stored");
            },
          }),
        ),
      );
      expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 12 }, (_, i) => (i === 7 ? "rejected" : "fulfilled")));
      expect((outcomes[7] as PromiseRejectedResult).reason).toEqual(new Error("the seventh cannot be stored"));
      expect((await titles("batch ")).sort()).toEqual(
        Array.from({ length: 12 }, (_, i) => `batch ${String(i).padStart(2, "0")}`).filter((t) => t !== "batch 07"),
      );
      expect((await verifyAuditLog(shield.database.db)).ok).toBe(true);
    });
  });
});
