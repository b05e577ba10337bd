import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PNG } from "../../../test/attachment-fixtures.js";
import { DAY, FakeClock, HOUR, MINUTE } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { parseHtml } from "../../../test/html.js";
import { MailCapture, recipientsOf } from "../../../test/mail-capture.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { cookiesFrom, openForm, postForm, reportFormParts, type FormPart } from "../../../test/web-forms.js";
import { insertMessage, describeStateForReporter, type Channel } from "../../modules/reports/index.js";
import { updateSetting } from "../../modules/settings/index.js";
import { formatUtc } from "../../modules/intake/index.js";

/** A local webhook receiver: records every POST body, answers with `status`. */
function startWebhook(): Promise<{ url: string; bodies: string[]; status: { code: number }; close: () => Promise<void> }> {
  const bodies: string[] = [];
  const status = { code: 200 };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      bodies.push(body);
      res.writeHead(status.code).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, status, close: () => new Promise((r) => server.close(() => r())) }),
    ),
  );
}

/** The job an escalation leaves in the outbox: its event, for the notifications to fan out. */
const ESCALATED = "on:report.escalated:team-notices";

forEachDatabase((kind) => {
  describe("the tracking page /security/reports/<token>", () => {
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    let shield: TestShield;
    const mail = new MailCapture();
    let triager: { authorization: string };
    let webhook: Awaited<ReturnType<typeof startWebhook>>;

    beforeAll(async () => {
      shield = await createTestShield(kind, { clock, mailer: mail });
      triager = (await shield.addMember("triager", `triager-${kind}@team.example.test`)).auth;
      await shield.addMember("admin", `admin-${kind}@team.example.test`);
      await shield.addMember("viewer", `viewer-${kind}@team.example.test`);
      webhook = await startWebhook();
    });
    afterAll(async () => {
      await webhook.close();
      await shield.destroy();
    });

    async function newReport(channel: Channel = "account_attack", title = "Someone took over my account") {
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel: channel as "vulnerability", title }) });
      expect(response.statusCode).toBe(201);
      const { id, trackingUrl } = response.json();
      const token = String(trackingUrl).split("/").pop()!;
      return { id: id as number, token, url: `/security/reports/${token}` };
    }
    const transition = async (id: number, body: Record<string, unknown>) => {
      const response = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/transitions`, headers: triager, payload: { reason: "test", ...body } });
      expect(response.statusCode, response.body).toBe(200);
    };
    const view = async (url: string) => {
      const response = await shield.app.inject({ method: "GET", url });
      return { response, doc: parseHtml(response.body) };
    };
    const post = async (url: string, action: string, parts: FormPart[]) => postForm(shield, `${url}/${action}`, await openForm(shield, url), parts);
    const reportRow = (id: number) => shield.database.db.selectFrom("reports").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    const jobsOf = async (kindName: string, reportId: number) =>
      (await shield.database.db.selectFrom("jobs").selectAll().where("kind", "=", kindName).execute()).filter((j) => JSON.parse(j.payload).reportId === reportId);

    it("shows the status in plain words, the promised times and the public thread, never cached and without referrer", async () => {
      const report = await newReport();
      clock.advance(30 * MINUTE);
      await transition(report.id, { to: "acknowledged", message: "We are on it. <b>Do not</b> log in." });
      await insertMessage(shield.database.db, { reportId: report.id, authorKind: "team", authorUserId: null, body: "INTERNAL: looks like a reused password", internal: true, createdAt: clock.now().toISOString() });

      const { response, doc } = await view(report.url);
      expect(response.statusCode).toBe(200);
      expect(response.headers["cache-control"]).toBe("no-store");
      expect(doc.querySelector('meta[name="referrer"]')?.getAttribute("content")).toBe("no-referrer");
      expect(doc.querySelector(".status")?.textContent).toBe(describeStateForReporter("acknowledged"));
      const facts = doc.querySelector(".facts")?.textContent ?? "";
      expect(facts).toContain("Answered on 2026-03-02 09:30 UTC");
      expect(facts).toContain("within 4 hours: by 2026-03-02 13:00 UTC");
      const thread = Array.from(doc.querySelectorAll(".thread .message .plain-text")).map((m) => m.textContent);
      expect(thread).toEqual(["We are on it. <b>Do not</b> log in."]);
      expect(response.body).not.toContain("INTERNAL");
      expect(response.body).not.toContain("<b>Do not</b>");
    });

    it("shows the confirmation after the web form only once and only within 15 minutes", async () => {
      const send = async () => postForm(shield, "/security/report", await openForm(shield, "/security/report"), reportFormParts());
      const confirm = (response: { headers: Record<string, unknown> }) =>
        shield.app.inject({ method: "GET", url: "/security/report/received", headers: { cookie: cookiesFrom(response.headers["set-cookie"] as string[]) } });
      const late = await send();
      clock.advance(15 * MINUTE + 1);
      expect((await confirm(late)).statusCode).toBe(404);
      const prompt = await send();
      clock.advance(14 * MINUTE);
      expect((await confirm(prompt)).statusCode).toBe(200);
      expect((await confirm(prompt)).statusCode).toBe(404);
      expect(await shield.database.db.selectFrom("report_confirmations").selectAll().execute()).toEqual([]);
    });

    it("answers an unknown or malformed token with the same page and a 404", async () => {
      // Of any length a request line can carry: the same lookup (by the token's hash), the same page.
      const tokens = ["A".repeat(43), "x", "..%2F..%2Fetc", "%00", "é", "B".repeat(100), "B".repeat(101), "C".repeat(12_000), "a.b;c"];
      const bodies = new Set<string>();
      for (const token of tokens) {
        const { response, doc } = await view(`/security/reports/${token}`);
        expect(response.statusCode, token.slice(0, 50)).toBe(404);
        expect(response.headers["cache-control"]).toBe("no-store");
        expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
        expect(doc.querySelector("h1")?.textContent).toBe("Tracking link not valid");
        bodies.add(response.body.replace(/name="_csrf" value="[^"]*"/g, ""));
      }
      expect(bodies.size).toBe(1);
      const known = await newReport();
      const session = await openForm(shield, known.url);
      for (const action of ["replies", "credit", "escalation"]) {
        const response = await postForm(shield, `/security/reports/${"C".repeat(43)}/${action}`, session, [{ name: "body", value: "hello" }]);
        expect(response.statusCode, action).toBe(404);
        expect(parseHtml(response.body).querySelector("h1")?.textContent).toBe("Tracking link not valid");
      }
    });

    it("records a reply with its attachments, linked to the message, and audits it", async () => {
      const report = await newReport("vulnerability");
      const response = await post(report.url, "replies", [
        { name: "body", value: "Here is a screenshot.\n<script>alert(1)</script>" },
        { name: "attachments", value: PNG, filename: "proof <1>.png" },
      ]);
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(`${report.url}?done=reply#thread`);
      const message = await shield.database.db.selectFrom("messages").selectAll().where("report_id", "=", report.id).executeTakeFirstOrThrow();
      expect(message).toMatchObject({ author_kind: "reporter", internal: 0, body: "Here is a screenshot.\n<script>alert(1)</script>" });
      const attachment = await shield.database.db.selectFrom("attachments").selectAll().where("report_id", "=", report.id).executeTakeFirstOrThrow();
      expect(attachment).toMatchObject({ message_id: message.id, filename: "proof <1>.png", content_type: "image/png", size: PNG.length });
      const audit = await shield.database.db.selectFrom("audit_events").selectAll().where("subject_id", "=", String(report.id)).where("action", "=", "report.reporter_replied").execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]!.actor).toBe("reporter");
      expect((await reportRow(report.id)).state).toBe("new");

      const { response: page, doc } = await view(`${report.url}?done=reply`);
      expect(page.body).not.toContain("<script>alert(1)");
      expect(doc.querySelector(".notice.success")?.textContent).toContain("Your answer was sent");
      expect(doc.querySelector(".thread .message.from-reporter .files")?.textContent).toContain("proof <1>.png (");
    });

    it("records a reply that is not valid UTF-8 with U+FFFD, keeping the bytes as sent in a file, and says so", async () => {
      const report = await newReport();
      const bytes = Buffer.concat([Buffer.from("Still broken: "), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from(" <b>x</b>")]);
      const response = await post(report.url, "replies", [{ name: "body", value: bytes }]);
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(`${report.url}?done=reply-as-sent#thread`);
      const message = await shield.database.db.selectFrom("messages").selectAll().where("report_id", "=", report.id).executeTakeFirstOrThrow();
      expect(message.body).toBe("Still broken: \uFFFD <b>x</b>");
      const attachment = await shield.database.db.selectFrom("attachments").selectAll().where("report_id", "=", report.id).executeTakeFirstOrThrow();
      expect(attachment).toMatchObject({ message_id: message.id, filename: "Answer as sent (not valid UTF-8).txt", content_type: "application/octet-stream", size: bytes.length });
      const { doc } = await view(`${report.url}?done=reply-as-sent`);
      expect(doc.querySelector(".notice.success")?.textContent).toContain("the bytes exactly as you sent them are kept with it");
      expect(doc.querySelector(".thread .message.from-reporter b")).toBeNull();
    });

    it("refuses an empty reply next to the field and stores nothing", async () => {
      const report = await newReport();
      const response = await post(report.url, "replies", [{ name: "body", value: "   " }, { name: "attachments", value: PNG, filename: "p.png" }]);
      expect(response.statusCode).toBe(400);
      const doc = parseHtml(response.body);
      expect(doc.getElementById("body")?.getAttribute("aria-invalid")).toBe("true");
      expect(doc.getElementById("body-error")?.textContent).toBe("is required");
      expect(doc.body.textContent).toContain("not kept");
      expect(await shield.database.db.selectFrom("messages").selectAll().where("report_id", "=", report.id).execute()).toEqual([]);
      expect(await shield.database.db.selectFrom("attachments").selectAll().where("report_id", "=", report.id).execute()).toEqual([]);
    });

    it("returns a report waiting for information to acknowledged when the reporter answers, and its clocks resume", async () => {
      const report = await newReport("account_attack");
      clock.advance(1 * HOUR);
      await transition(report.id, { to: "acknowledged" });
      clock.advance(1 * HOUR);
      await transition(report.id, { to: "needs_info", message: "Which browser did you use?" });
      const before = await view(report.url);
      expect(before.doc.querySelector(".facts")?.textContent).toContain("paused while we wait for your answer");

      clock.advance(5 * HOUR);
      const response = await post(report.url, "replies", [{ name: "body", value: "Firefox 140." }]);
      expect(response.statusCode).toBe(303);
      const row = await reportRow(report.id);
      expect(row).toMatchObject({ state: "acknowledged", needs_info_since: null, state_before_needs_info: null });
      expect(Number(row.paused_ms)).toBe(5 * HOUR);
      const audit = await shield.database.db.selectFrom("audit_events").selectAll().where("subject_id", "=", String(report.id)).where("action", "=", "report.transitioned").orderBy("seq", "desc").executeTakeFirstOrThrow();
      expect(audit.actor).toBe("reporter");
      expect(JSON.parse(audit.data)).toMatchObject({ from: "needs_info", to: "acknowledged" });
      // Triage was due 4 hours after receipt; the 5 hours of waiting push it back.
      const { doc } = await view(report.url);
      expect(doc.querySelector(".facts")?.textContent).toContain(`by ${formatUtc(new Date(Date.parse(row.received_at) + 9 * HOUR).toISOString())}`);
    });

    it("returns a triaged report that waited for information to triaged", async () => {
      const report = await newReport("vulnerability");
      await transition(report.id, { to: "acknowledged" });
      await transition(report.id, { to: "triaged", severity: "high" });
      await transition(report.id, { to: "needs_info", message: "Can you share the request?" });
      clock.advance(2 * HOUR);
      expect((await post(report.url, "replies", [{ name: "body", value: "Attached." }])).statusCode).toBe(303);
      const row = await reportRow(report.id);
      expect(row.state).toBe("triaged");
      expect(Number(row.paused_ms)).toBe(2 * HOUR);
    });

    it("takes no replies on a report closed as spam", async () => {
      const report = await newReport();
      await transition(report.id, { to: "spam" });
      const { doc } = await view(report.url);
      expect(doc.getElementById("body")).toBeNull();
      const response = await post(report.url, "replies", [{ name: "body", value: "but why?" }]);
      expect(response.statusCode).toBe(409);
      expect(await shield.database.db.selectFrom("messages").selectAll().where("report_id", "=", report.id).where("author_kind", "=", "reporter").execute()).toEqual([]);
    });

    it("changes how the reporter is credited, audited, and refuses a bad link next to its field", async () => {
      const report = await newReport();
      const named = await post(report.url, "credit", [{ name: "creditName", value: "Ada <L>" }, { name: "creditUrl", value: "https://ada.example.org/" }]);
      expect(named.statusCode).toBe(303);
      expect(await reportRow(report.id)).toMatchObject({ credit_name: "Ada <L>", credit_url: "https://ada.example.org/" });
      const { doc } = await view(report.url);
      expect((doc.getElementById("creditName") as HTMLInputElement).value).toBe("Ada <L>");
      expect(doc.querySelector(".facts")?.textContent).toContain("As “Ada <L>”, linking to https://ada.example.org/");

      const bad = await post(report.url, "credit", [{ name: "creditName", value: "Ada" }, { name: "creditUrl", value: "javascript:alert(1)" }]);
      expect(bad.statusCode).toBe(400);
      const badDoc = parseHtml(bad.body);
      expect(badDoc.getElementById("creditUrl-error")?.textContent).toBe("must be an http(s) URL");
      expect((badDoc.getElementById("creditUrl") as HTMLInputElement).value).toBe("javascript:alert(1)");
      expect((await reportRow(report.id)).credit_url).toBe("https://ada.example.org/");
      for (const hidden of ["\r\n", "\t", "\u0000"]) {
        const injected = await post(report.url, "credit", [{ name: "creditName", value: "Ada" }, { name: "creditUrl", value: `https://ada.example.org/${hidden}Set-Cookie: a=b` }]);
        expect(injected.statusCode).toBe(400);
        expect(parseHtml(injected.body).getElementById("creditUrl-error")?.textContent).toBe("must not contain spaces, line breaks, tabs or other control characters");
        expect((await reportRow(report.id)).credit_url).toBe("https://ada.example.org/");
      }

      const anonymous = await post(report.url, "credit", [{ name: "creditName", value: "Ada" }, { name: "creditAnonymous", value: "yes" }]);
      expect(anonymous.statusCode).toBe(303);
      expect(await reportRow(report.id)).toMatchObject({ credit_name: null, credit_url: null });
      const audit = await shield.database.db.selectFrom("audit_events").selectAll().where("subject_id", "=", String(report.id)).where("action", "=", "report.credit_changed").execute();
      expect(audit).toHaveLength(2);
    });

    describe("escalation", () => {
      beforeAll(async () => {
        await updateSetting(shield.settings, clock, { kind: "cli" }, "webhookUrl", webhook.url);
      });

      it("offers no button before the promised time and refuses a forged escalation", async () => {
        const report = await newReport("account_attack");
        clock.advance(2 * HOUR - MINUTE);
        const { doc } = await view(report.url);
        expect(Array.from(doc.querySelectorAll("button")).map((b) => b.textContent)).not.toContain("Escalate");
        expect(doc.body.textContent).toContain("If nobody has answered by 2026-");
        const forged = await post(report.url, "escalation", []);
        expect(forged.statusCode).toBe(409);
        expect(parseHtml(forged.body).querySelector(".error-summary")?.textContent).toContain("has not passed yet");
        expect(await jobsOf("mail.escalation", report.id)).toEqual([]);
        expect(await shield.database.db.selectFrom("report_escalations").selectAll().where("report_id", "=", report.id).execute()).toEqual([]);
      });

      it("pages the team by mail and webhook once the promised time has passed, at most once per 12 hours", async () => {
        const report = await newReport("account_attack", "Secret title <do not leak>");
        clock.advance(2 * HOUR + MINUTE);
        const { doc } = await view(report.url);
        expect(Array.from(doc.querySelectorAll("button")).map((b) => b.textContent)).toContain("Escalate");

        const first = await post(report.url, "escalation", []);
        expect(first.statusCode).toBe(303);
        expect(first.headers.location).toBe(`${report.url}?done=escalated#thread`);
        // One event, which pages the team when its job runs.
        expect(await jobsOf(ESCALATED, report.id)).toHaveLength(1);
        const audit = await shield.database.db.selectFrom("audit_events").selectAll().where("subject_id", "=", String(report.id)).where("action", "=", "report.escalated").execute();
        expect(audit).toHaveLength(1);

        clock.advance(11 * HOUR);
        const again = await post(report.url, "escalation", []);
        expect(again.statusCode).toBe(409);
        expect(await jobsOf(ESCALATED, report.id)).toHaveLength(1);
        const waiting = await view(report.url);
        expect(Array.from(waiting.doc.querySelectorAll("button")).map((b) => b.textContent)).not.toContain("Escalate");
        expect(waiting.doc.body.textContent).toContain("you can escalate again after");

        clock.advance(1 * HOUR);
        expect((await post(report.url, "escalation", [])).statusCode).toBe(303);
        expect(await jobsOf(ESCALATED, report.id)).toHaveLength(2);
        const stamp = await shield.database.db.selectFrom("report_escalations").selectAll().where("report_id", "=", report.id).executeTakeFirstOrThrow();
        expect(Number(stamp.count)).toBe(2);

        webhook.bodies.length = 0;
        await shield.worker.drain();
        // Each member is mailed separately, for each of the two escalations; never a viewer.
        const mails = mail.notices("escalated", report.id);
        expect(recipientsOf(mails)).toEqual([`admin-${kind}@team.example.test`, `admin-${kind}@team.example.test`, `triager-${kind}@team.example.test`, `triager-${kind}@team.example.test`]);
        for (const sent of mails) expect(sent.subject).toMatch(new RegExp(`^\\[#${report.id}\\] ESCALATED`));
        // Other notices (a new account attack) use the same webhook; these are the escalations.
        const escalations = webhook.bodies.filter((b) => JSON.parse(b).text.startsWith("Escalation:"));
        expect(escalations).toHaveLength(2);
        const posted = JSON.parse(escalations[0]!);
        expect(Object.keys(posted)).toEqual(["text"]);
        expect(posted.text).toContain(`report #${report.id}`);
        expect(posted.text).not.toContain("Secret title");
      });

      it("no longer offers escalation once a person has answered", async () => {
        const report = await newReport("account_attack");
        clock.advance(3 * HOUR);
        await transition(report.id, { to: "acknowledged" });
        const { doc } = await view(report.url);
        expect(Array.from(doc.querySelectorAll("button")).map((b) => b.textContent)).not.toContain("Escalate");
        expect((await post(report.url, "escalation", [])).statusCode).toBe(409);
      });

      it("retries the webhook with backoff when it fails", async () => {
        const report = await newReport("sensitive");
        clock.advance(DAY + MINUTE);
        expect((await post(report.url, "escalation", [])).statusCode).toBe(303);
        webhook.status.code = 500;
        try {
          await shield.worker.drain();
        } finally {
          webhook.status.code = 200;
        }
        const [job] = await jobsOf("webhook.team_notice", report.id);
        expect(job).toMatchObject({ state: "pending", attempts: 1 });
        expect(job!.last_error).toContain("500");
      });
    });
  });

  describe("escalation without a team", () => {
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    let shield: TestShield;
    const mail = new MailCapture();
    beforeAll(async () => {
      shield = await createTestShield(kind, { clock, mailer: mail });
    });
    afterAll(async () => shield.destroy());

    it("pages the security address when there are no admins or triagers, and posts no webhook when none is set", async () => {
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel: "vulnerability" }) });
      const url = `/security/reports/${String(response.json().trackingUrl).split("/").pop()}`;
      clock.advance(72 * HOUR + MINUTE);
      expect((await postForm(shield, `${url}/escalation`, await openForm(shield, url), [])).statusCode).toBe(303);
      await shield.worker.drain();
      expect(await shield.database.db.selectFrom("jobs").selectAll().where("kind", "=", "webhook.team_notice").execute()).toEqual([]);
      expect(recipientsOf(mail.notices("escalated"))).toEqual(["security@example.com"]);
    });
  });
});
