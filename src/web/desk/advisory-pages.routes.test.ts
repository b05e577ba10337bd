import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, TestBrowser, totpCodeAt, type EnrolledMember } from "../../../test/sign-in.js";
import type { SubmitReportBody } from "../../modules/intake/index.js";

function textOf(element: Element | null | undefined): string {
  return (element?.textContent ?? "").replace(/\s+/g, " ").trim();
}

/** A filled advisory form as the page posts it (one product, one range, one team credit). */
function advisoryFields(reportIds: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    reportIds,
    title: "Stored XSS in comments",
    summary: "A comment could run a **script**.",
    "products.0.vendor": "Example Inc.",
    "products.0.product": "Basecamp",
    "products.0.fixedVersion": "4.2.1",
    "products.0.ranges.0.introduced": "4.0.0",
    "products.0.ranges.0.fixed": "4.2.1",
    "products.0.ranges.0.lastAffected": "",
    "products.1.vendor": "",
    "products.1.product": "",
    "products.1.ranges.0.introduced": "",
    cvss31Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
    cvss40Vector: "",
    cwe: "CWE-79",
    cveId: "",
    references: "https://example.com/releases/4.2.1",
    workarounds: "",
    "credits.0.name": "Upstream maintainer",
    "credits.0.url": "",
    "credits.0.type": "remediation developer",
    "credits.1.name": "",
    "credits.1.url": "",
    "credits.1.type": "other",
    action: "save",
    ...extra,
  };
}

forEachDatabase((kind) => {
  describe("the desk's advisory pages", () => {
    let shield: TestShield;
    const clock = new FakeClock("2026-11-02T09:00:00.000Z");
    let triager: EnrolledMember;
    let admin: EnrolledMember;
    let viewer: EnrolledMember;
    let ip = 0;

    beforeAll(async () => {
      shield = await createTestShield(kind, { clock });
      triager = await addEnrolledMember(shield, clock, "triager");
      admin = await addEnrolledMember(shield, clock, "admin");
      viewer = await addEnrolledMember(shield, clock, "viewer");
    });
    afterAll(async () => shield.destroy());

    const signedIn = async (who: EnrolledMember) => {
      clock.advance(30_000);
      const b = new TestBrowser(shield, `198.51.100.${++ip}`);
      expect((await b.signIn(who.member.email, who.password, await totpCodeAt(who.secret, clock))).statusCode).toBe(303);
      return b;
    };
    const api = (method: "GET" | "POST" | "PATCH", url: string, payload?: object) => shield.app.inject({ method, url, headers: { authorization: `Bearer ${triager.apiToken}` }, ...(payload ? { payload } : {}) });
    const triagedReport = async (overrides: Partial<SubmitReportBody> = {}) => {
      const submitted = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput(overrides) });
      expect(submitted.statusCode).toBe(201);
      const id = submitted.json().id as number;
      expect((await api("POST", `/api/v1/reports/${id}/transitions`, { to: "acknowledged", reason: "read it" })).statusCode).toBe(200);
      expect((await api("PATCH", `/api/v1/reports/${id}`, { cvss31Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", cwe: "CWE-79" })).statusCode).toBe(200);
      expect((await api("POST", `/api/v1/reports/${id}/transitions`, { to: "triaged", reason: "reproduced" })).statusCode).toBe(200);
      return id;
    };
    const resolve = async (id: number) => expect((await api("POST", `/api/v1/reports/${id}/transitions`, { to: "resolved", reason: "fixed in 4.2.1" })).statusCode).toBe(200);
    const createDraft = async (b: TestBrowser, reportIds: string, extra: Record<string, string> = {}) => {
      await b.get(`/desk/advisories/new`);
      const created = await b.post("/desk/advisories", advisoryFields(reportIds, extra));
      expect(created.statusCode, created.body.slice(0, 2000)).toBe(303);
      return /\/desk\/advisories\/([A-Z0-9-]+)\?done=created/.exec(String(created.headers.location))![1]!;
    };

    it("writes a draft from a report page's link, with the report's severity and weakness filled in, and keeps it from the public", async () => {
      const reportId = await triagedReport({ title: "XSS in the comment form", credit: { name: "Peggy Researcher", url: "https://peggy.example" } });
      const b = await signedIn(triager);
      const reportPage = parseHtml((await b.get(`/desk/reports/${reportId}`)).body);
      const link = reportPage.querySelector("#create-advisory");
      expect(textOf(link)).toBe("Create an advisory from this report");
      const form = parseHtml((await b.get(link!.getAttribute("href")!)).body);
      expect((form.querySelector("#adv-reportIds") as HTMLInputElement).value).toBe(String(reportId));
      expect((form.querySelector("#adv-title") as HTMLInputElement).value).toBe("XSS in the comment form");
      expect((form.querySelector("#adv-cvss31Vector") as HTMLInputElement).value).toBe("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N");
      expect((form.querySelector("#adv-cwe") as HTMLInputElement).value).toBe("CWE-79");
      expect(textOf(form.querySelector("#reporter-credits"))).toContain("Peggy Researcher https://peggy.example (finder, report #");

      const id = await createDraft(b, String(reportId));
      const page = parseHtml((await b.get(`/desk/advisories/${id}?done=created`)).body);
      expect(textOf(page.querySelector("#advisory-state"))).toBe("Draft");
      expect((page.querySelector("#adv-products-0-ranges-0-fixed") as HTMLInputElement).value).toBe("4.2.1");
      expect((page.querySelector("#adv-credits-0-type") as HTMLSelectElement).value).toBe("remediation developer");
      // An empty row is offered for one more product, range and credit.
      expect(page.querySelector("#adv-products-1-vendor")).not.toBeNull();
      expect(page.querySelector("#adv-credits-1-name")).not.toBeNull();
      expect(textOf(parseHtml((await b.get("/desk/advisories")).body).querySelector(`tr[data-advisory-id="${id}"]`))).toContain("Draft");
      expect(textOf(parseHtml((await b.get(`/desk/reports/${reportId}`)).body).querySelector("#report-advisories"))).toBe(`${id} (Draft)`);
      expect((await shield.app.inject({ method: "GET", url: `/security/advisories/${id}` })).statusCode).toBe(404);
    });

    it("refuses bad fields next to each field with the input kept, and previews the Markdown rendered safely without saving", async () => {
      const reportId = await triagedReport();
      const b = await signedIn(triager);
      await b.get("/desk/advisories/new");
      const refused = await b.post("/desk/advisories", advisoryFields(`${reportId}, #abc`, { title: "", "products.0.ranges.0.lastAffected": "4.2.0", "credits.0.url": "javascript:alert(1)", cvss31Vector: "CVSS:3.1/AV:N" }));
      expect(refused.statusCode).toBe(400);
      const doc = parseHtml(refused.body);
      expect(textOf(doc.querySelector("#adv-title-error"))).toBe("must not be empty");
      expect(textOf(doc.querySelector("#adv-reportIds-error"))).not.toBe("");
      expect(textOf(doc.querySelector("#adv-credits-0-url-error"))).toBe("must be an http(s) URL");
      expect((doc.querySelector("#adv-summary") as HTMLTextAreaElement).value).toBe("A comment could run a **script**.");
      expect(doc.querySelector("#adv-title")?.getAttribute("aria-invalid")).toBe("true");

      // The service's own checks (both fixed and last affected in one range; a bad vector) come back at their fields too.
      const ranges = await b.post("/desk/advisories", advisoryFields(String(reportId), { "products.0.ranges.0.lastAffected": "4.2.0" }));
      expect(ranges.statusCode).toBe(400);
      expect(textOf(parseHtml(ranges.body).querySelector("#adv-products-0-ranges-0-error"))).toBe("give either fixed or lastAffected, not both");
      const vector = await b.post("/desk/advisories", advisoryFields(String(reportId), { cvss31Vector: "CVSS:3.1/AV:N" }));
      expect(vector.statusCode).toBe(400);
      expect(textOf(parseHtml(vector.body).querySelector("#adv-cvss31Vector-error"))).not.toBe("");

      const before = (await api("GET", "/api/v1/advisories")).json().advisories.length;
      const preview = await b.post("/desk/advisories", advisoryFields(String(reportId), { action: "preview", summary: "Run **this**: <script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))" }));
      expect(preview.statusCode).toBe(200);
      const shown = parseHtml(preview.body).querySelector("#preview-summary")!;
      expect(shown.querySelector("strong")?.textContent).toBe("this");
      expect(shown.querySelector("script, img, [onerror]")).toBeNull();
      expect(shown.querySelector('a[href^="javascript"]')).toBeNull();
      expect((parseHtml(preview.body).querySelector("#adv-summary") as HTMLTextAreaElement).value).toContain("<script>alert(1)</script>");
      expect((await api("GET", "/api/v1/advisories")).json().advisories.length).toBe(before);
    });

    it("shows the guard's refusal naming each report not fixed, publishes once it is fixed, and previews as the public will see it", async () => {
      const reportId = await triagedReport({ credit: { name: "Grace Finder" } });
      const b = await signedIn(triager);
      const id = await createDraft(b, String(reportId));

      const page = parseHtml((await b.get(`/desk/advisories/${id}`)).body);
      expect(textOf(page.querySelector("#guard-blockers"))).toBe(`#${reportId}: Report #${reportId} is Triaged, not fixed: mark it Resolved once the fix is released.`);
      const refused = await b.post(`/desk/advisories/${id}/publish`, {});
      expect(refused.statusCode).toBe(409);
      const refusal = parseHtml(refused.body);
      expect(textOf(refusal.querySelector("#problem"))).toBe("Not published: the disclosure guard holds this advisory back.");
      expect(textOf(refusal.querySelector("#guard-blockers"))).toContain(`Report #${reportId} is Triaged, not fixed`);
      // Only an admin is offered (and allowed) the override.
      expect(refusal.querySelector("#publish-override")).toBeNull();
      const forged = await b.post(`/desk/advisories/${id}/publish`, { overrideReason: "I say so" });
      expect(forged.statusCode).toBe(403);
      expect((await api("GET", `/api/v1/advisories/${id}`)).json().state).toBe("draft");

      await resolve(reportId);
      const preview = parseHtml((await b.get(`/desk/advisories/${id}/preview`)).body);
      expect(textOf(preview.querySelector("#preview-banner"))).toContain("Preview of a draft advisory: the public cannot see it until it is published");
      expect(textOf(preview.querySelector("h1"))).toBe("Stored XSS in comments");
      expect(textOf(preview.querySelector("main"))).toContain("Grace Finder (finder)");
      expect(textOf(preview.querySelector("main"))).toContain("Upstream maintainer (remediation developer)");
      expect([...preview.querySelectorAll(".affected tbody td")].map(textOf)).toEqual(["Example Inc. Basecamp", "4.0.0 up to 4.2.1 (not included)", "4.2.1"]);

      await b.get(`/desk/advisories/${id}`);
      expect(textOf(parseHtml(b.lastPage).querySelector("#guard-status"))).toBe("Every linked report is fixed and no upstream embargo holds: the advisory may be published.");
      const published = await b.post(`/desk/advisories/${id}/publish`, {});
      expect(published.statusCode).toBe(303);
      const after = parseHtml((await b.get(String(published.headers.location))).body);
      expect(textOf(after.querySelector("#advisory-state"))).toBe("Published");
      expect(after.querySelector("#form-publish")).toBeNull();
      expect((await shield.app.inject({ method: "GET", url: `/security/advisories/${id}` })).statusCode).toBe(200);
      expect((await api("GET", `/api/v1/reports/${reportId}`)).json().state).toBe("disclosed");

      // A change now is a numbered revision, which needs its summary.
      const noSummary = await b.post(`/desk/advisories/${id}`, { ...advisoryFields(""), title: "Stored XSS in comments and replies" });
      expect(noSummary.statusCode).toBe(400);
      expect(textOf(parseHtml(noSummary.body).querySelector("#adv-revisionSummary-error"))).toBe("is required for a published advisory");
      const revised = await b.post(`/desk/advisories/${id}`, { ...advisoryFields(""), title: "Stored XSS in comments and replies", revisionSummary: "Replies are affected too." });
      expect(revised.statusCode).toBe(303);
      const revisions = (await api("GET", `/api/v1/advisories/${id}`)).json().revisions;
      expect(revisions.map((r: { summary: string }) => r.summary)).toEqual(["Initial publication.", "Replies are affected too."]);
    });

    it("lets an admin publish over the guard with a reason the audit log keeps, and schedules with a time in UTC", async () => {
      const unfixed = await triagedReport();
      const b = await signedIn(admin);
      const id = await createDraft(b, String(unfixed));
      const page = parseHtml((await b.get(`/desk/advisories/${id}`)).body);
      expect(page.querySelector("label[for=publish-override]")?.textContent).toBe("Reason to publish over the disclosure guard");

      const pastTime = await b.post(`/desk/advisories/${id}/schedule`, { at: "2020-01-01T10:00" });
      expect(pastTime.statusCode).toBe(400);
      expect(textOf(parseHtml(pastTime.body).querySelector("#schedule-at-error"))).toBe("must be in the future; publish now instead");
      const scheduled = await b.post(`/desk/advisories/${id}/schedule`, { at: "2026-12-01T09:30", overrideReason: "Coordinated date agreed with upstream" });
      expect(scheduled.statusCode).toBe(303);
      const view = (await api("GET", `/api/v1/advisories/${id}`)).json();
      expect(view).toMatchObject({ state: "scheduled", scheduledAt: "2026-12-01T09:30:00.000Z", guardOverride: "Coordinated date agreed with upstream" });
      expect((await b.post(`/desk/advisories/${id}/unschedule`, {})).statusCode).toBe(303);

      const overridden = await b.post(`/desk/advisories/${id}/publish`, { overrideReason: "Actively exploited; users must update now" });
      expect(overridden.statusCode).toBe(303);
      const events = await shield.database.db.selectFrom("audit_events").select(["action", "data"]).where("subject_type", "=", "advisory").where("subject_id", "=", id).execute();
      const override = events.filter((e) => e.action === "advisory.guard_overridden").map((e) => JSON.parse(e.data));
      expect(override.map((o) => o.reason)).toEqual(["Coordinated date agreed with upstream", "Actively exploited; users must update now"]);
    });

    it("shows a viewer the advisories without forms, and refuses a viewer's post and a post without a CSRF token", async () => {
      const reportId = await triagedReport();
      const writer = await signedIn(triager);
      const id = await createDraft(writer, String(reportId));
      expect((await writer.post(`/desk/advisories/${id}/publish`, {}, { csrf: null })).statusCode).toBe(403);

      const b = await signedIn(viewer);
      const page = parseHtml((await b.get(`/desk/advisories/${id}`)).body);
      expect(page.querySelectorAll("main form").length).toBe(0);
      expect(page.querySelector("#preview-link")).not.toBeNull();
      expect((await b.get("/desk/advisories/new")).statusCode).toBe(403);
      await b.get("/desk/advisories");
      expect((await b.post(`/desk/advisories/${id}/publish`, {}, { csrf: b.csrf() })).statusCode).toBe(403);
      expect((await b.get("/desk/advisories/SEC-1999-999")).statusCode).toBe(404);
    });
  });
});
