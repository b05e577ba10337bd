import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { startWebhookServer, type WebhookServer } from "../../../test/webhook-server.js";
import { findReport, insertMessage, transitionReport } from "../reports/index.js";
import { updateSetting } from "../settings/index.js";
import { postToWebhook, TEAM_MAIL_JOB, WEBHOOK_JOB } from "./index.js";
import { MailCapture, recipientsOf } from "../../../test/mail-capture.js";

forEachDatabase((kind) => {
  describe("team notifications", () => {
    let shield: TestShield;
    const mail = new MailCapture();
    let webhook: WebhookServer;
    let admin: Awaited<ReturnType<TestShield["addMember"]>>;
    let triager: Awaited<ReturnType<TestShield["addMember"]>>;
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");

    beforeAll(async () => {
      shield = await createTestShield(kind, { clock, mailer: mail });
      webhook = await startWebhookServer();
      admin = await shield.addMember("admin");
      triager = await shield.addMember("triager");
      await shield.addMember("viewer");
      const disabled = await shield.addMember("triager");
      await shield.database.db.updateTable("users").set({ disabled_at: clock.now().toISOString() }).where("id", "=", disabled.member.id).execute();
      await updateSetting(shield.settings, clock, { kind: "cli" }, "webhookUrl", webhook.url);
    });
    afterAll(async () => {
      await webhook.close();
      await shield.destroy();
    });

    const submit = async (input: ReturnType<typeof buildReportInput>) => {
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: input });
      expect(response.statusCode).toBe(201);
      return response.json() as { id: number; trackingUrl: string };
    };

    it("tells every admin and triager of a new report by e-mail, without its body", async () => {
      const input = buildReportInput({
        channel: "vulnerability",
        title: "IDOR in invoices\r\nBcc: victim@example.com",
        description: "SECRET-BODY-MARKER the invoice id is guessable",
      });
      const { id, trackingUrl } = await submit(input);
      const posts = webhook.received.length;
      await shield.worker.drain();
      const mails = mail.notices("report_received", id);
      expect(recipientsOf(mails)).toEqual([admin.member.email, triager.member.email].sort());
      for (const sent of mails) {
        // The title's line break cannot start a header of its own.
        expect(sent.subject).toBe(`[#${id}] New report: IDOR in invoices Bcc: victim@example.com`);
        expect(Object.keys(sent.headers).map((name) => name.toLowerCase())).not.toContain("bcc");
        expect(sent.text).toContain(`#${id} IDOR in invoices Bcc: victim@example.com`);
        expect(sent.text).toContain("Channel:  Vulnerability report");
        expect(sent.text).toContain("Received: Mon 2 Mar 2026, 09:00 UTC");
        expect(sent.text).toContain(`https://security.example.test/desk/reports/${id}`);
        expect(JSON.stringify(sent)).not.toContain("SECRET-BODY-MARKER");
        expect(JSON.stringify(sent)).not.toContain(trackingUrl.split("/").pop());
        expect(sent.headers).not.toHaveProperty("Importance");
      }
      // Only an account attack pages the chat channel.
      expect(webhook.received.length).toBe(posts);
    });

    it("pages the whole team at once for an account under attack: urgent mail and the webhook", async () => {
      const { id } = await submit(buildReportInput({ channel: "account_attack", title: "<!channel> my account <http://evil.example|is hacked>" }));
      const before = webhook.received.length;
      await shield.worker.drain();
      const mails = mail.notices("account_attack", id);
      expect(recipientsOf(mails)).toEqual([admin.member.email, triager.member.email].sort());
      for (const sent of mails) {
        expect(sent.subject).toMatch(new RegExp(`^\\[URGENT\\] \\[#${id}\\] Account under attack: `));
        expect(sent.headers).toMatchObject({ Importance: "high", "X-Priority": "1 (Highest)" });
      }
      const posts = webhook.received.slice(before);
      expect(posts).toHaveLength(1);
      expect(posts[0]!.path).toBe("/hooks/T000/B000/secret");
      expect(posts[0]!.contentType).toBe("application/json");
      const payload = JSON.parse(posts[0]!.body);
      expect(Object.keys(payload)).toEqual(["text"]);
      expect(payload.text).toBe(`URGENT: new report #${id} (Account under attack): an account is under attack. Answer now: https://security.example.test/desk/reports/${id}`);
      // The reporter's title never reaches the chat channel.
      expect(payload.text).not.toContain("channel>");
    });

    it("tells the owner when the reporter answers, and the team when there is no owner", async () => {
      const db = shield.database.db;
      const owned = await submit(buildReportInput());
      const report = await transitionReport({ ...shield.deps, clock }, await shield.settings.get(), { kind: "user", userId: triager.member.id, email: triager.member.email }, owned.id, { to: "acknowledged", reason: "testing the clocks" });
      expect(report.ownerId).toBe(triager.member.id);
      const unowned = await submit(buildReportInput());
      await shield.worker.drain();
      for (const [id, ownerId] of [
        [owned.id, triager.member.id],
        [unowned.id, null],
      ] as const) {
        await db.transaction().execute(async (tx) => {
          const message = await insertMessage(tx, { reportId: id, authorKind: "reporter", authorUserId: null, body: "REPLY-BODY-MARKER", internal: false, createdAt: clock.now().toISOString() });
          expect((await findReport(tx, id))!.ownerId).toBe(ownerId);
          await shield.events.publish(tx, "report.reporter_replied", { reportId: id, messageId: message.id }, clock.now());
        });
      }
      await shield.worker.drain();
      const toOwner = mail.notices("reporter_reply", owned.id);
      expect(recipientsOf(toOwner)).toEqual([triager.member.email]);
      expect(toOwner[0]!.subject).toMatch(new RegExp(`^\\[#${owned.id}\\] The reporter answered: `));
      expect(JSON.stringify(toOwner[0])).not.toContain("REPLY-BODY-MARKER");
      expect(recipientsOf(mail.notices("reporter_reply", unowned.id))).toEqual([admin.member.email, triager.member.email].sort());
    });

    it("enqueues nothing when the transaction that would have told the owner rolls back", async () => {
      const db = shield.database.db;
      const { id } = await submit(buildReportInput());
      await shield.worker.drain();
      // The event's job (which would fan out to the team's mails) and any mail job.
      const count = async () =>
        (await db.selectFrom("jobs").select("payload").where("kind", "in", [TEAM_MAIL_JOB.kind, ...shield.events.jobKinds()]).execute()).filter((j) => JSON.parse(j.payload).reportId === id).length;
      const before = await count();
      await expect(
        db.transaction().execute(async (tx) => {
          await shield.events.publish(tx, "report.reporter_replied", { reportId: id, messageId: 1 }, clock.now());
          throw new Error("the reply could not be stored");
        }),
      ).rejects.toThrow("could not be stored");
      expect(await count()).toBe(before);
    });

    it("retries a webhook call that answers with an error, and does not follow redirects", async () => {
      const db = shield.database.db;
      webhook.answer = { status: 500 };
      const { id } = await submit(buildReportInput({ channel: "account_attack" }));
      await shield.worker.drain();
      const job = async () =>
        (await db.selectFrom("jobs").selectAll().where("kind", "=", WEBHOOK_JOB.kind).execute()).find((j) => JSON.parse(j.payload).reportId === id)!;
      let row = await job();
      expect(row.state).toBe("pending");
      expect(row.last_error).toBe("webhook answered HTTP 500");
      expect(row.last_error).not.toContain("secret");

      webhook.answer = { status: 302, location: `${webhook.origin}/elsewhere` };
      clock.advance(60_000);
      await shield.worker.drain();
      row = await job();
      expect(row.state).toBe("pending");
      expect(row.attempts).toBe(2);
      expect(webhook.received.some((p) => p.path === "/elsewhere")).toBe(false);

      webhook.answer = { status: 204 };
      clock.advance(5 * 60_000);
      await shield.worker.drain();
      expect((await job()).state).toBe("done");
    });
  });
});

describe("the webhook call", () => {
  it("gives up on a webhook that does not answer in time", async () => {
    const server = await startWebhookServer();
    server.answer = "hang";
    try {
      const started = Date.now();
      await expect(postToWebhook(server.url, "hello", 300)).rejects.toThrow("webhook post failed: no answer within 300 ms");
      expect(Date.now() - started).toBeLessThan(5000);
      expect(server.received).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it("names the failure, not the secret URL, when nothing listens", async () => {
    const server = await startWebhookServer();
    const url = server.url;
    await server.close();
    const error = await postToWebhook(url, "hello", 2000).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^webhook post failed: /);
    expect((error as Error).message).not.toContain("secret");
  });
});
