import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, HOUR } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, TestBrowser, totpCodeAt } from "../../../test/sign-in.js";

forEachDatabase((kind) => {
  let shield: TestShield;
  let clock: FakeClock;
  let viewerAuth: { authorization: string };

  beforeAll(async () => {
    clock = new FakeClock("2026-06-15T09:00:00.000Z");
    shield = await createTestShield(kind, { clock });
    viewerAuth = (await shield.addMember("viewer")).auth;
    const triager = await shield.addMember("triager");
    // Two vulnerability reports: one answered after 2 hours, one still open after 4 days (past 72 h).
    const submit = async (channel: "vulnerability" | "account_attack") => {
      const res = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel }) });
      expect(res.statusCode).toBe(201);
      return res.json().id as number;
    };
    const answered = await submit("vulnerability");
    await submit("vulnerability");
    await submit("account_attack");
    clock.advance(2 * HOUR);
    const ack = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${answered}/transitions`, headers: triager.auth, payload: { to: "acknowledged", reason: "Looking into it" } });
    expect(ack.statusCode).toBe(200);
    clock.advance(94 * HOUR);
  });
  afterAll(async () => shield.destroy());

  describe("GET /metrics", () => {
    it("refuses a scrape without a team member's token", async () => {
      const res = await shield.app.inject({ method: "GET", url: "/metrics" });
      expect(res.statusCode).toBe(401);
      const bad = await shield.app.inject({ method: "GET", url: "/metrics", headers: { authorization: "Bearer shd_nope" } });
      expect(bad.statusCode).toBe(401);
    });

    it("gives the medians, shares within target, open reports and outbox jobs as Prometheus gauges", async () => {
      const res = await shield.app.inject({ method: "GET", url: "/metrics", headers: viewerAuth });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
      const lines = res.body.split("\n");
      expect(lines).toContain('shield_report_time_median_seconds{channel="vulnerability",metric="time_to_first_response"} 7200');
      // One met (2 h), one still open past 72 h: half within target.
      expect(lines).toContain('shield_report_within_target_ratio{channel="vulnerability",metric="time_to_first_response"} 0.5');
      expect(lines).toContain('shield_report_target_missed{channel="account_attack",metric="time_to_first_response"} 1');
      expect(lines).toContain('shield_reports_received{channel="vulnerability"} 2');
      expect(lines).toContain('shield_reports_open{state="new",channel="vulnerability"} 1');
      expect(lines).toContain('shield_reports_open{state="acknowledged",channel="vulnerability"} 1');
      expect(lines).toContain('shield_reports_open{state="triaged",channel="sensitive"} 0');
      const pending = lines.find((l) => l.startsWith('shield_outbox_jobs{state="pending"}'));
      expect(Number(pending?.split(" ")[1])).toBeGreaterThan(0);
    });
  });

  describe("the metrics page", () => {
    it("shows a signed-in member a table per channel and the chart of shares within target", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      clock.advance(30_000);
      const browser = new TestBrowser(shield);
      expect((await browser.signIn(viewer.member.email, viewer.password, await totpCodeAt(viewer.secret, clock))).statusCode).toBe(303);
      const page = await browser.get("/desk/metrics");
      expect(page.statusCode).toBe(200);
      const doc = parseHtml(page.body);
      const table = doc.querySelector("#channel-vulnerability + p + table")!;
      const row = [...table.querySelectorAll("tbody tr")].find((tr) => tr.querySelector("th")?.textContent === "Time to first response")!;
      const cells = [...row.querySelectorAll("td")].map((td) => td.textContent);
      expect(cells).toEqual(["2 h", "1", "72 hours", "50 %", "1 met, 1 missed"]);
      const svg = doc.querySelector("svg.metrics-chart")!;
      expect(svg.querySelector("title")?.textContent).toMatch(/Share of reports within target/);
      expect([...svg.querySelectorAll("text")].map((t) => t.textContent)).toContain("Vulnerability: Time to first response");
      expect(page.body).not.toMatch(/style=/);
      expect(doc.querySelector('link[href="/assets/admin.css"]')).not.toBeNull();
      const css = await shield.app.inject({ method: "GET", url: "/assets/admin.css" });
      expect(css.statusCode).toBe(200);
      expect(css.body).toContain(".chart-bar");
    });

    it("sends a visitor who is not signed in to the sign-in page", async () => {
      const res = await shield.app.inject({ method: "GET", url: "/desk/metrics" });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe("/login?next=%2Fdesk%2Fmetrics");
    });
  });
});
