import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeClock, HOUR, MINUTE } from "../../../test/clock.js";
import { forEachDatabase, type TestDatabaseKind } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { startWebhookServer, type WebhookServer } from "../../../test/webhook-server.js";
import { loadConfig } from "../../config.js";
import { createShield, type Shield } from "../../main.js";
import { createLogger } from "../../platform/logger.js";
import type { Actor } from "../audit/index.js";
import { TEAM_MAIL_JOB, WEBHOOK_JOB } from "../notifications/index.js";
import { transitionReport } from "../reports/index.js";
import { updateSetting } from "../settings/index.js";
import { SLA_CHECK_TASK, type SlaCheckOutcome } from "./index.js";
import { MailCapture, recipientsOf } from "../../../test/mail-capture.js";

async function setUpShield(kind: TestDatabaseKind, clock: FakeClock, mail?: MailCapture) {
  const shield = await createTestShield(kind, { clock, mailer: mail });
  const admin = await shield.addMember("admin");
  const triager = await shield.addMember("triager");
  await shield.addMember("viewer");
  return { shield, admin, triager };
}

const check = (shield: Shield) => shield.scheduler.runNow(SLA_CHECK_TASK) as Promise<SlaCheckOutcome>;

async function submit(shield: TestShield, channel: "account_attack" | "vulnerability" | "sensitive" = "account_attack"): Promise<number> {
  const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel }) });
  expect(response.statusCode).toBe(201);
  return response.json().id;
}

async function alertsOf(shield: Shield, reportId: number) {
  return shield.database.db.selectFrom("sla_alerts").select(["target", "kind", "due_at"]).where("report_id", "=", reportId).orderBy("id").execute();
}

async function auditOf(shield: Shield, reportId: number, action: string) {
  const rows = await shield.database.db
    .selectFrom("audit_events")
    .selectAll()
    .where("subject_type", "=", "report")
    .where("subject_id", "=", String(reportId))
    .where("action", "=", action)
    .execute();
  return rows.map((r) => ({ actor: r.actor, data: JSON.parse(r.data) }));
}

async function jobsFor(shield: Shield, kind: string, reportId: number) {
  const rows = await shield.database.db.selectFrom("jobs").select(["payload", "state"]).where("kind", "=", kind).execute();
  return rows.map((r) => JSON.parse(r.payload)).filter((p) => p.reportId === reportId);
}

forEachDatabase((kind) => {
  describe("the service-level check", () => {
    let shield: TestShield;
    let admin: Awaited<ReturnType<TestShield["addMember"]>>;
    let triager: Awaited<ReturnType<TestShield["addMember"]>>;
    let webhook: WebhookServer;
    let clock: FakeClock;
    let mail: MailCapture;

    beforeEach(async () => {
      clock = new FakeClock("2026-03-02T09:00:00.000Z");
      mail = new MailCapture();
      ({ shield, admin, triager } = await setUpShield(kind, clock, mail));
      webhook = await startWebhookServer();
    });
    afterEach(async () => {
      await webhook.close();
      await shield.destroy();
    });

    it("warns the team once at three quarters of the first-response time when nobody owns the report", async () => {
      const id = await submit(shield);
      await shield.worker.drain();
      clock.advance(89 * MINUTE);
      expect((await check(shield)).warned).toBe(0);
      clock.advance(MINUTE);
      expect(await check(shield)).toMatchObject({ warned: 1, missed: 0 });
      expect(await check(shield)).toMatchObject({ warned: 0, missed: 0 });
      clock.advance(MINUTE);
      expect(await check(shield)).toMatchObject({ warned: 0, missed: 0 });

      expect(await alertsOf(shield, id)).toEqual([{ target: "firstResponse", kind: "warning", due_at: "2026-03-02T11:00:00.000Z" }]);
      const audit = await auditOf(shield, id, "sla.warned");
      expect(audit).toEqual([{ actor: "system", data: expect.objectContaining({ target: "firstResponse", dueAt: "2026-03-02T11:00:00.000Z", elapsedShare: 0.75 }) }]);

      await shield.worker.drain();
      const mails = mail.notices("sla_warning", id);
      expect(recipientsOf(mails)).toEqual([admin.member.email, triager.member.email].sort());
      expect(mails[0]!.subject).toMatch(new RegExp(`^\\[#${id}\\] First response due Mon 2 Mar 2026, 11:00 UTC: `));
      expect(mails[0]!.text).toContain("Three quarters of the first response time for this report are used up.");
    });

    it("warns only the owner once the report has one", async () => {
      const id = await submit(shield);
      const db = shield.database.db;
      const actor: Actor = { kind: "user", userId: triager.member.id, email: triager.member.email };
      clock.advance(30 * MINUTE);
      await transitionReport({ ...shield.deps, clock }, await shield.settings.get(), actor, id, { to: "acknowledged", reason: "testing the clocks" });
      clock.advance(150 * MINUTE); // 3 of the 4 triage hours
      expect(await check(shield)).toMatchObject({ warned: 1, missed: 0 });
      expect(await alertsOf(shield, id)).toEqual([{ target: "triage", kind: "warning", due_at: "2026-03-02T13:00:00.000Z" }]);
      expect((await auditOf(shield, id, "sla.warned"))[0]!.data).toMatchObject({ target: "triage" });
      await shield.worker.drain();
      expect(recipientsOf(mail.notices("sla_warning", id))).toEqual([triager.member.email]);
    });

    it("tells the whole team by e-mail and on the webhook when a target is missed, once", async () => {
      await updateSetting(shield.settings, clock, { kind: "cli" }, "webhookUrl", webhook.url);
      const id = await submit(shield);
      await shield.worker.drain();
      const postsBefore = webhook.received.length;
      // Nobody checked while the clock ran (the process was down): only the miss is sent.
      clock.advance(2 * HOUR + MINUTE);
      expect(await check(shield)).toMatchObject({ warned: 0, missed: 1 });
      expect(await check(shield)).toMatchObject({ warned: 0, missed: 0 });
      expect(await alertsOf(shield, id)).toEqual([{ target: "firstResponse", kind: "missed", due_at: "2026-03-02T11:00:00.000Z" }]);
      expect((await auditOf(shield, id, "sla.missed"))[0]).toEqual({ actor: "system", data: expect.objectContaining({ target: "firstResponse" }) });
      expect(await auditOf(shield, id, "sla.warned")).toEqual([]);

      await shield.worker.drain();
      const mails = mail.notices("sla_missed", id);
      expect(recipientsOf(mails)).toEqual([admin.member.email, triager.member.email].sort());
      expect(mails[0]!.subject).toMatch(new RegExp(`^\\[URGENT\\] \\[#${id}\\] Missed first response target: `));
      expect(mails[0]!.headers).toMatchObject({ Importance: "high" });
      const posts = webhook.received.slice(postsBefore).map((p) => JSON.parse(p.body));
      expect(posts).toEqual([
        { text: `Missed first response target on report #${id} (Account under attack); it was due Mon 2 Mar 2026, 11:00 UTC. https://security.example.test/desk/reports/${id}` },
      ]);

      // Later the triage target is missed too: that is a new alert, sent once.
      clock.advance(2 * HOUR);
      expect(await check(shield)).toMatchObject({ missed: 1 });
      expect((await alertsOf(shield, id)).map((a) => `${a.target}:${a.kind}`)).toEqual(["firstResponse:missed", "triage:missed"]);
    });

    it("looks at every open report when there are more than a page of them, and only at open ones", async () => {
      const db = shield.database.db;
      const settings = await shield.settings.get();
      const actor: Actor = { kind: "user", userId: admin.member.id, email: admin.member.email };
      const ids: number[] = [];
      for (let i = 0; i < 9; i++) ids.push(...(await Promise.all(Array.from({ length: 45 }, () => submit(shield)))));
      const [closed, answered] = [ids[0]!, ids[250]!];
      await transitionReport({ ...shield.deps, clock }, settings, actor, closed, { to: "spam", reason: "testing the clocks" });
      await transitionReport({ ...shield.deps, clock }, settings, actor, answered, { to: "acknowledged", reason: "testing the clocks" });
      clock.advance(90 * MINUTE);
      const order: string[] = [];
      setImmediate(() => order.push("other work"));
      const outcome = await check(shield);
      order.push("check done");
      // Other work (requests) gets its turn between the check's pages.
      expect(order).toEqual(["other work", "check done"]);
      // 405 reports, one closed: 404 open; the acknowledged one is not due a first-response warning.
      expect(outcome).toEqual({ checked: 404, warned: 403, missed: 0 });
      const warned = await db.selectFrom("sla_alerts").select("report_id").where("kind", "=", "warning").execute();
      expect(new Set(warned.map((row) => row.report_id))).toEqual(new Set(ids.filter((id) => id !== closed && id !== answered)));
      // 405 reports through the API and 403 alerts with their events: minutes on a loaded two-core machine.
    }, 180_000);

    it("sends nothing for a report acknowledged in time, a closed report or a paused clock short of its warning", async () => {
      const db = shield.database.db;
      const settings = await shield.settings.get();
      const actor: Actor = { kind: "user", userId: admin.member.id, email: admin.member.email };
      const answered = await submit(shield);
      const closed = await submit(shield);
      const paused = await submit(shield, "sensitive");
      clock.advance(10 * MINUTE);
      await transitionReport({ ...shield.deps, clock }, settings, actor, answered, { to: "acknowledged", reason: "testing the clocks" });
      await transitionReport({ ...shield.deps, clock }, settings, actor, closed, { to: "spam", reason: "testing the clocks" });
      await transitionReport({ ...shield.deps, clock }, settings, actor, paused, { to: "acknowledged", reason: "testing the clocks" });
      await transitionReport({ ...shield.deps, clock }, settings, actor, paused, { to: "needs_info", reason: "testing the clocks", message: "Which account?" });
      clock.advance(HOUR + 20 * MINUTE); // answered: triage at 37.5 %; paused: its clocks stand still
      expect(await check(shield)).toMatchObject({ warned: 0, missed: 0 });
      clock.advance(3 * 24 * HOUR); // much later: only the open, running triage clock of `answered` is owed anything
      const outcome = await check(shield);
      expect(outcome).toMatchObject({ warned: 0, missed: 1 });
      expect(await alertsOf(shield, answered)).toEqual([expect.objectContaining({ target: "triage", kind: "missed" })]);
      expect(await alertsOf(shield, closed)).toEqual([]);
      expect(await alertsOf(shield, paused)).toEqual([]);
    });

    it("keeps every open report where it was in the queue when the targets change, and places a report received after by the new ones", async () => {
      const db = shield.database.db;
      const cli: Actor = { kind: "cli" };
      const actor: Actor = { kind: "user", userId: triager.member.id, email: triager.member.email };
      const settings = await shield.settings.get();
      const fresh = await submit(shield, "vulnerability");
      const attack = await submit(shield, "account_attack");
      const paused = await submit(shield, "vulnerability");
      const closed = await submit(shield, "vulnerability");
      await transitionReport({ ...shield.deps, clock }, settings, actor, paused, { to: "acknowledged", reason: "testing the queue" });
      await transitionReport({ ...shield.deps, clock }, settings, actor, closed, { to: "spam", reason: "testing the queue" });
      clock.advance(HOUR);
      await transitionReport({ ...shield.deps, clock }, settings, actor, paused, { to: "needs_info", reason: "testing the queue", message: "Which version?" });
      clock.advance(2 * HOUR);
      await transitionReport({ ...shield.deps, clock }, settings, actor, paused, { to: "acknowledged", reason: "testing the queue" });
      await updateSetting(shield.settings, clock, cli, "targets", {
        ...settings.targets,
        vulnerability: { firstResponse: 10 * 60, triage: 20 * 60 },
        account_attack: { firstResponse: 60, triage: 5 * 60 },
      });
      const later = await submit(shield, "account_attack"); // at 12:00
      const queue = (await shield.app.inject({ method: "GET", url: "/api/v1/reports?sort=deadline&limit=100", headers: triager.auth })).json();
      expect(queue.reports.map((r: { id: number }) => r.id)).toEqual([attack, later, fresh, paused, closed]);
      const rows = await db.selectFrom("reports").select(["id", "next_deadline_at"]).execute();
      expect(Object.fromEntries(rows.map((row) => [row.id, row.next_deadline_at]))).toEqual({
        [attack]: "2026-03-02T11:00:00.000Z", // first response, 2 hours after 09:00, as promised then
        [later]: "2026-03-02T13:00:00.000Z", // first response, 1 hour after 12:00
        [fresh]: "2026-03-05T09:00:00.000Z", // first response, 72 hours
        [paused]: "2026-03-12T11:00:00.000Z", // triage, 10 days and the 2 hours it waited for the reporter
        [closed]: null,
      });
      // The minute check reads the same terms: at 12:00 the attack report has missed its first
      // response (2 h) and used three quarters of its triage (4 h); the later one has nothing due.
      expect(await check(shield)).toMatchObject({ missed: 1, warned: 1 });
      expect(await alertsOf(shield, later)).toEqual([]);
    });

    it("measures an ended pause in business hours from the report's history", async () => {
      const db = shield.database.db;
      const cli: Actor = { kind: "cli" };
      await updateSetting(shield.settings, clock, cli, "targets", { ...(await shield.settings.get()).targets, vulnerability: { firstResponse: 8 * 60, triage: 40 * 60 } });
      await updateSetting(shield.settings, clock, cli, "calendars", {
        account_attack: null,
        sensitive: null,
        vulnerability: { timeZone: "Europe/Berlin", workingDays: ["mon", "tue", "wed", "thu", "fri"], opensAt: "09:00", closesAt: "17:00", holidays: [] },
      });
      const settings = await shield.settings.get();
      const actor: Actor = { kind: "user", userId: triager.member.id, email: triager.member.email };
      clock.set("2026-03-02T08:00:00.000Z"); // Monday 09:00 in Berlin
      const id = await submit(shield, "vulnerability");
      await transitionReport({ ...shield.deps, clock }, settings, actor, id, { to: "acknowledged", reason: "testing the clocks" });
      clock.set("2026-03-06T15:00:00.000Z"); // Friday 16:00: 39 of 40 business hours used
      await transitionReport({ ...shield.deps, clock }, settings, actor, id, { to: "needs_info", reason: "testing the clocks", message: "Which version?" });
      clock.set("2026-03-09T09:00:00.000Z"); // Monday 10:00: the reporter answered
      await transitionReport({ ...shield.deps, clock }, settings, actor, id, { to: "acknowledged", reason: "testing the clocks" });
      // The queue places it by the same deadline: stored for the queue order, and in the API.
      const stored = await db.selectFrom("reports").select("next_deadline_at").where("id", "=", id).executeTakeFirstOrThrow();
      expect(stored.next_deadline_at).toBe("2026-03-09T10:00:00.000Z");
      const read = (await shield.app.inject({ method: "GET", url: `/api/v1/reports/${id}`, headers: triager.auth })).json();
      expect([read.deadlines.triage, read.nextDeadlineAt]).toEqual(["2026-03-09T10:00:00.000Z", "2026-03-09T10:00:00.000Z"]);
      const queue = (await shield.app.inject({ method: "GET", url: "/api/v1/reports?sort=deadline&limit=100", headers: triager.auth })).json();
      expect(queue.reports.find((r: { id: number }) => r.id === id).deadlines.triage).toBe("2026-03-09T10:00:00.000Z");
      clock.set("2026-03-09T09:30:00.000Z");
      expect(await check(shield)).toMatchObject({ warned: 1 });
      // The pause cost the clock two business hours (Friday 16–17, Monday 9–10), not 66.
      expect(await alertsOf(shield, id)).toEqual([{ target: "triage", kind: "warning", due_at: "2026-03-09T10:00:00.000Z" }]);
      expect((await auditOf(shield, id, "sla.warned"))[0]!.data.elapsedShare).toBe(0.988);
    });
  });
});

describe("the service-level check in several processes on PostgreSQL", () => {
  const clock = new FakeClock("2026-03-02T09:00:00.000Z");
  let first: TestShield;
  let second: Shield;
  let webhook: WebhookServer;
  const postgres = process.env.SHIELD_TEST_POSTGRES !== "0";

  beforeAll(async () => {
    if (!postgres) return;
    ({ shield: first } = await setUpShield("postgres", clock));
    webhook = await startWebhookServer();
    await updateSetting(first.settings, clock, { kind: "cli" }, "webhookUrl", webhook.url);
    // A second process: same database and data directory (so the same master key), its own pool.
    const config = loadConfig({ SHIELD_DATA_DIR: first.dataDir, DATABASE_URL: first.testDatabase.url, SHIELD_BASE_URL: "https://security.example.test", SHIELD_LOG_LEVEL: "silent" });
    second = await createShield(config, createLogger("silent"), clock);
  });
  afterAll(async () => {
    if (!postgres) return;
    await second.close();
    await webhook.close();
    await first.destroy();
  });

  it.skipIf(!postgres)("sends each warning and each miss exactly once when two instances check at the same moment", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push(await submit(first));
    clock.advance(90 * MINUTE);
    const warnings = await Promise.all([check(first), check(second), check(first), check(second)]);
    expect(warnings.reduce((n, o) => n + o.warned, 0)).toBe(8);
    clock.advance(31 * MINUTE);
    const misses = await Promise.all([check(second), check(first), check(second), check(first)]);
    expect(misses.reduce((n, o) => n + o.missed, 0)).toBe(8);

    // The alerts' events fan out to mail and webhook jobs when their subscriber jobs run.
    await first.worker.drain();
    for (const id of ids) {
      expect((await alertsOf(first, id)).map((a) => `${a.target}:${a.kind}`)).toEqual(["firstResponse:warning", "firstResponse:missed"]);
      expect(await auditOf(first, id, "sla.warned")).toHaveLength(1);
      expect(await auditOf(first, id, "sla.missed")).toHaveLength(1);
      const mails = (await jobsFor(first, TEAM_MAIL_JOB.kind, id)).filter((p) => p.notice.kind.startsWith("sla_"));
      expect(mails).toHaveLength(4); // admin and triager, once for the warning and once for the miss
      expect((await jobsFor(first, WEBHOOK_JOB.kind, id)).filter((p) => p.notice.kind === "sla_missed")).toHaveLength(1);
    }
    const { verifyAuditLog } = await import("../audit/index.js");
    expect((await verifyAuditLog(first.database.db)).ok).toBe(true);
  });
});
