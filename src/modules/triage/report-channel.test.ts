import { afterAll, beforeAll, expect, it } from "vitest";
import { FakeClock, HOUR } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, TestBrowser, totpCodeAt, type EnrolledMember } from "../../../test/sign-in.js";

forEachDatabase((kind) => {
  let shield: TestShield;
  let clock: FakeClock;
  let triager: EnrolledMember;
  let viewer: EnrolledMember;

  beforeAll(async () => {
    clock = new FakeClock();
    shield = await createTestShield(kind, { clock });
    triager = await addEnrolledMember(shield, clock, "triager");
    viewer = await addEnrolledMember(shield, clock, "viewer");
  });
  afterAll(async () => shield.destroy());

  const api = (member: EnrolledMember) => ({ authorization: `Bearer ${member.apiToken}` });
  const submit = async (channel: "sensitive" | "vulnerability") => {
    const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel, title: `Someone is in my account (${channel})` }) });
    expect(response.statusCode).toBe(201);
    return response.json<{ id: number }>().id;
  };
  /** What the team was told of the report, once the outbox ran: one mail per kind of notice to the triager (the viewer is never paged). */
  const noticesTo = async (id: number) => {
    await shield.worker.drain();
    const jobs = await shield.database.db.selectFrom("jobs").select(["payload"]).where("kind", "=", "mail.team_notice").orderBy("id").execute();
    return jobs
      .map((j) => JSON.parse(j.payload) as { reportId: number; userId: number; notice: { kind: string } })
      .filter((p) => p.reportId === id && p.userId === triager.member.id)
      .map((p) => p.notice.kind);
  };

  it("moves a report to the account-attack channel through the API: its first response falls due 2 hours after receipt, the team is paged, the move is audited", async () => {
    const id = await submit("sensitive");
    const before = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${id}`, headers: api(triager) });
    const receivedAt = before.json<{ receivedAt: string }>().receivedAt;
    expect(before.json<{ deadlines: { firstResponse: string } }>().deadlines.firstResponse).toBe(new Date(Date.parse(receivedAt) + 24 * HOUR).toISOString());
    expect(await noticesTo(id)).toEqual(["report_received"]);
    clock.advance(HOUR);

    const moved = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/channel`, headers: api(triager), payload: { channel: "account_attack", reason: "The mail describes a takeover in progress" } });
    expect(moved.statusCode).toBe(200);
    const view = moved.json<{ channel: string; deadlines: { firstResponse: string; triage: string }; nextDeadlineAt: string }>();
    expect(view.channel).toBe("account_attack");
    expect(view.deadlines.firstResponse).toBe(new Date(Date.parse(receivedAt) + 2 * HOUR).toISOString());
    expect(view.deadlines.triage).toBe(new Date(Date.parse(receivedAt) + 4 * HOUR).toISOString());
    expect(view.nextDeadlineAt).toBe(view.deadlines.firstResponse);
    expect(await noticesTo(id)).toEqual(["report_received", "account_attack"]);
    const audit = await shield.database.db.selectFrom("audit_events").select(["data"]).where("action", "=", "report.channel_changed").where("subject_id", "=", String(id)).execute();
    expect(audit.map((a) => JSON.parse(a.data))).toEqual([{ from: "sensitive", to: "account_attack", reason: "The mail describes a takeover in progress" }]);

    // Refused, each with a reason: the same channel, support (a transition), no reason, a viewer.
    const same = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/channel`, headers: api(triager), payload: { channel: "account_attack", reason: "again" } });
    expect(same.statusCode).toBe(409);
    expect(same.json().error.code).toBe("channel_unchanged");
    const support = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/channel`, headers: api(triager), payload: { channel: "support", reason: "not security" } });
    expect(support.statusCode).toBe(400);
    expect(support.json().error.fields.channel).toMatch(/routed_to_support/);
    const noReason = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/channel`, headers: api(triager), payload: { channel: "vulnerability", reason: " " } });
    expect(noReason.statusCode).toBe(400);
    const byViewer = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/channel`, headers: api(viewer), payload: { channel: "vulnerability", reason: "x" } });
    expect(byViewer.statusCode).toBe(403);
  });

  it("keeps the channel of a closed report", async () => {
    const id = await submit("vulnerability");
    const spam = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/transitions`, headers: api(triager), payload: { to: "spam", reason: "spam" } });
    expect(spam.statusCode).toBe(200);
    const moved = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/channel`, headers: api(triager), payload: { channel: "sensitive", reason: "x" } });
    expect(moved.statusCode).toBe(409);
    expect(moved.json().error.code).toBe("report_closed");
  });

  it("lets a triager change the channel on the desk page, with the reason kept and the new channel shown", async () => {
    const id = await submit("vulnerability");
    clock.advance(30_000);
    const b = new TestBrowser(shield, "198.51.100.77");
    expect((await b.signIn(triager.member.email, triager.password, await totpCodeAt(triager.secret, clock))).statusCode).toBe(303);
    const page = await b.get(`/desk/reports/${id}`);
    const form = parseHtml(page.body).querySelector("#form-channel");
    expect(form?.querySelector("label[for=channel-choice]")?.textContent).toBe("Channel");
    const missingReason = await b.post(`/desk/reports/${id}/channel`, { channel: "sensitive", reason: "" });
    expect(missingReason.statusCode).toBe(400);
    expect(parseHtml(missingReason.body).querySelector("#channel-reason-error")?.textContent).toMatch(/say why/);

    const moved = await b.post(`/desk/reports/${id}/channel`, { channel: "sensitive", reason: "Sent to us in confidence" });
    expect(moved.statusCode).toBe(303);
    const after = parseHtml((await b.get(moved.headers.location as string)).body);
    expect(after.querySelector(".notice.success")?.textContent).toBe("The channel is changed; the report's clocks follow it.");
    const channel = [...after.querySelectorAll(".report-facts dt")].find((dt) => dt.textContent === "Channel");
    expect(channel?.nextElementSibling?.textContent).toMatch(/sensitive/i);
  });
});
