import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, HOUR, MINUTE } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { mailsStartingWith, recipientOf } from "../../../test/outbox.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { enqueue } from "../../platform/jobs/job.js";
import { RECEIPT_DIGEST_JOB } from "./index.js";

forEachDatabase((kind) => {
  describe("receipts for one address", () => {
    let shield: TestShield;
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    beforeAll(async () => {
      shield = await createTestShield(kind, { clock, env: { SHIELD_RECEIPT_LIMIT: "3", SHIELD_RECEIPT_WINDOW_MINUTES: "60" } });
      await shield.settings.get();
    });
    afterAll(async () => shield.destroy());

    const submit = async (email: string, title: string) => {
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ title, reporter: { name: "Someone", email } }) });
      expect(response.statusCode).toBe(201);
      return response.json() as { id: number; trackingUrl: string };
    };
    const mailsTo = (address: string) => ["receipt-", "receipt-digest-"].flatMap((p) => mailsStartingWith(shield, p)).filter((eml, i, all) => all.indexOf(eml) === i && recipientOf(eml) === address);

    it("mails three receipts an hour and folds the rest into one digest with each tracking link, sent when the window allows", async () => {
      const victim = "victim@example.net";
      const reports = [];
      for (let i = 0; i < 8; i++) {
        reports.push(await submit(victim, `Flood ${i}`));
        await shield.worker.drain();
        clock.advance(MINUTE);
      }
      // Every report is stored and acknowledged; only three receipts went out.
      expect(mailsStartingWith(shield, "receipt-").filter((eml) => recipientOf(eml) === victim && !eml.includes("We received your reports"))).toHaveLength(3);
      expect(mailsStartingWith(shield, "receipt-digest-")).toHaveLength(0);
      // Another address is not held back by the victim's limit.
      await submit("bystander@example.net", "Unrelated");
      await shield.worker.drain();
      expect(mailsTo("bystander@example.net")).toHaveLength(1);

      clock.set("2026-03-02T09:59:59.000Z");
      await shield.worker.drain();
      expect(mailsStartingWith(shield, "receipt-digest-")).toHaveLength(0);
      clock.set("2026-03-02T10:00:00.000Z");
      await shield.worker.drain();
      const digests = mailsStartingWith(shield, "receipt-digest-");
      expect(digests).toHaveLength(1);
      expect(recipientOf(digests[0]!)).toBe(victim);
      for (const report of reports.slice(3)) {
        expect(digests[0]).toContain(report.trackingUrl);
        expect(digests[0]).toContain(`#${report.id}`);
      }
      for (const report of reports.slice(0, 3)) expect(digests[0]).not.toContain(report.trackingUrl);
      expect(digests[0]).toContain("at most 3 receipts in 1 hour");

      // The digest took a slot: the next receipt waits for the next one to free up.
      clock.set("2026-03-02T10:00:30.000Z");
      const late = await submit(victim, "Late");
      await shield.worker.drain();
      expect(mailsStartingWith(shield, "receipt-digest-")).toHaveLength(1);
      clock.advance(HOUR);
      await shield.worker.drain();
      const second = mailsStartingWith(shield, "receipt-digest-").filter((eml) => eml.includes(late.trackingUrl));
      expect(second).toHaveLength(1);
      // The tracking tokens are dropped from the jobs once mailed.
      const jobs = await shield.database.db.selectFrom("jobs").select(["payload", "state"]).where("kind", "like", "mail.receipt%").execute();
      expect(jobs.every((job) => job.state === "done")).toBe(true);
      expect(jobs.filter((job) => job.payload.includes("secret"))).toEqual([]);
    });

    it("keeps the limit when the worker admits many receipts for one address at once, and mails each admitted one once", async () => {
      const crowd = "crowd@example.net";
      // All stored before the worker runs: its lanes then admit their receipts side by side
      // (on SQLite in shared commits).
      const reports = [];
      for (let i = 0; i < 12; i++) reports.push(await submit(crowd, `Crowd ${i}`));
      await shield.worker.drain();
      const receipts = mailsStartingWith(shield, "receipt-").filter((eml) => recipientOf(eml) === crowd && !eml.includes("We received your reports"));
      expect(receipts).toHaveLength(3);
      const mailed = reports.filter((report) => receipts.some((eml) => eml.includes(report.trackingUrl)));
      expect(mailed).toHaveLength(3);

      clock.advance(HOUR);
      await shield.worker.drain();
      const digest = mailsStartingWith(shield, "receipt-digest-").filter((eml) => recipientOf(eml) === crowd);
      expect(digest).toHaveLength(1);
      // Every report is acknowledged exactly once: by its own receipt or in the digest.
      for (const report of reports) {
        const inReceipt = mailed.includes(report);
        expect(digest[0]!.includes(report.trackingUrl)).toBe(!inReceipt);
      }
    });

    it("never mails a receipt to Shield's own addresses, and still stores the report", async () => {
      const settings = await shield.settings.get();
      for (const address of [settings.securityEmail, settings.supportEmail.toUpperCase()]) {
        const { id } = await submit(address, "Aimed at Shield");
        await shield.worker.drain();
        expect(mailsStartingWith(shield, `receipt-${id}-`)).toEqual([]);
        expect(await shield.database.db.selectFrom("reports").select("id").where("id", "=", id).executeTakeFirst()).toEqual({ id });
      }
      expect(mailsStartingWith(shield, "receipt-").filter((eml) => [settings.securityEmail, settings.supportEmail].includes(recipientOf(eml).toLowerCase()))).toEqual([]);
    });

    it("holds each receipt of a flood to one address as a row of its own, so the digest job is never rewritten, and mails them all in one digest", async () => {
      const flooded = "flooded@example.net";
      const digestJobs = () =>
        shield.database.db.selectFrom("jobs").select(["id", "payload", "state"]).where("kind", "=", RECEIPT_DIGEST_JOB.kind).where("payload", "like", `%${flooded}%`).execute();
      const reports = [];
      for (let i = 0; i < 40; i++) {
        reports.push(await submit(flooded, `Flood of one address ${i}`));
        await shield.worker.drain();
      }
      const [digest, ...others] = await digestJobs();
      expect(others).toEqual([]);
      expect(digest!.state).toBe("pending");
      // The job is the one the fourth receipt made, as it was made: later receipts did not touch it.
      expect(JSON.parse(digest!.payload)).toEqual({ to: flooded });
      const held = await shield.database.db.selectFrom("held_receipts").selectAll().where("digest_job_id", "=", digest!.id).orderBy("id").execute();
      expect(held.map((row) => row.report_id)).toEqual(reports.slice(3).map((report) => report.id));
      // The tracking tokens are sealed at rest.
      for (const report of reports) {
        const token = report.trackingUrl.split("/").at(-1)!;
        expect(held.some((row) => row.sealed_tracking_token.includes(token))).toBe(false);
      }

      clock.advance(HOUR);
      await shield.worker.drain();
      const [mail, ...more] = mailsStartingWith(shield, `receipt-digest-job-${digest!.id}`);
      expect(more).toEqual([]);
      expect(recipientOf(mail!)).toBe(flooded);
      expect(mail).toContain("received 37 reports");
      for (const report of reports.slice(3)) expect(mail).toContain(report.trackingUrl);
      expect(await shield.database.db.selectFrom("held_receipts").select("id").where("digest_job_id", "=", digest!.id).execute()).toEqual([]);
    });

    it("still mails a digest enqueued with its receipts in its payload, and drops them once mailed", async () => {
      const address = "earlier@example.net";
      const report = await submit(address, "Held before the rows");
      await shield.worker.drain();
      const trackingToken = report.trackingUrl.split("/").at(-1)!;
      const id = await shield.database.db
        .transaction()
        .execute((tx) => enqueue(tx, RECEIPT_DIGEST_JOB, { to: address, secretReceipts: [{ reportId: report.id, trackingToken }] }, clock.now()));
      await shield.worker.drain();
      const [mail] = mailsStartingWith(shield, `receipt-digest-job-${id}`);
      expect(mail).toContain(report.trackingUrl);
      const job = await shield.database.db.selectFrom("jobs").select(["payload", "state"]).where("id", "=", id).executeTakeFirstOrThrow();
      expect(job.state).toBe("done");
      expect(job.payload).not.toContain("secret");
    });
  });
});
