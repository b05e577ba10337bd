import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DAY, FakeClock, HOUR } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { mailsStartingWith, recipientOf } from "../../../test/outbox.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import type { SubmitReportBody } from "../intake/index.js";
import { importHallOfFame } from "../hall-of-fame/index.js";
import { updateSetting } from "../settings/index.js";

type Member = Awaited<ReturnType<TestShield["addMember"]>>;

const PRODUCTS = [{ vendor: "Example Inc.", product: "Basecamp", ranges: [{ introduced: "4.0.0", fixed: "4.2.1" }], fixedVersion: "4.2.1" }];

forEachDatabase((kind) => {
  describe("advisories API and public pages", () => {
    let shield: TestShield;
    let triager: Member;
    let admin: Member;
    let viewer: Member;
    const clock = new FakeClock("2026-11-02T09:00:00.000Z");

    beforeAll(async () => {
      shield = await createTestShield(kind, { clock });
      triager = await shield.addMember("triager");
      admin = await shield.addMember("admin");
      viewer = await shield.addMember("viewer");
    });
    afterAll(async () => shield.destroy());

    const api = (method: "GET" | "POST" | "PATCH", url: string, payload?: object, headers = triager.auth) => shield.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    const get = (url: string) => shield.app.inject({ method: "GET", url });

    /** A report triaged with CVSS and CWE, credited as its reporter asked. */
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
    const draft = async (reportIds: number[], extra: object = {}) => {
      const response = await api("POST", "/api/v1/advisories", { reportIds, title: "Stored XSS in comments", summary: "A comment could run a **script**.", products: PRODUCTS, ...extra });
      expect(response.statusCode, response.body).toBe(201);
      return response.json();
    };
    const reportState = async (id: number) => (await api("GET", `/api/v1/reports/${id}`)).json().state;
    const isPublic = async (id: string) => {
      const pages = await Promise.all([get(`/security/advisories/${id}`), get(`/security/advisories/${id}/osv.json`), get(`/security/advisories/${id}/csaf.json`)]);
      const list = (await get("/security/advisories")).body;
      const feed = (await get("/security/advisories.atom")).body;
      return { statuses: pages.map((p) => p.statusCode), listed: list.includes(id), inFeed: feed.includes(id) };
    };

    it("documents the advisory calls in the OpenAPI document", async () => {
      const { paths } = (await get("/api/v1/openapi.json")).json();
      expect(Object.keys(paths["/api/v1/advisories"])).toEqual(expect.arrayContaining(["get", "post"]));
      expect(Object.keys(paths["/api/v1/advisories/{id}"])).toEqual(expect.arrayContaining(["get", "patch"]));
      for (const action of ["publish", "schedule", "unschedule"]) expect(paths[`/api/v1/advisories/{id}/${action}`]).toHaveProperty("post");
      expect(paths["/api/v1/advisories/{id}/publish"].post.description).toContain("disclosure_guard");
    });

    it("writes a draft from a report, taking its CVSS and CWE, with an id of the program's prefix and year", async () => {
      const reportId = await triagedReport();
      const advisory = await draft([reportId]);
      expect(advisory.id).toMatch(/^SEC-2026-\d{3}$/);
      expect(advisory.state).toBe("draft");
      expect(advisory.content.cvss31).toEqual({ vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", baseScore: 6.1, baseRating: "medium" });
      expect(advisory.content.cwe.id).toBe("CWE-79");
      expect(advisory.url).toBeNull();
      const second = await draft([reportId], { cvss31Vector: null, cwe: null });
      expect(Number(second.id.slice(-3))).toBe(Number(advisory.id.slice(-3)) + 1);
      expect(second.content.cvss31).toBeNull();
    });

    it("refuses bad input with the field named, and unknown reports", async () => {
      let response = await api("POST", "/api/v1/advisories", { reportIds: [999999], title: "x", summary: "y", products: PRODUCTS });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields.reportIds).toMatch(/does not exist/);
      const reportId = await triagedReport();
      response = await api("POST", "/api/v1/advisories", { reportIds: [reportId], title: "x", summary: "y", products: [{ ...PRODUCTS[0], ranges: [{ introduced: "1", fixed: "2", lastAffected: "1.9" }] }] });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields["products.0.ranges.0"]).toMatch(/not both/);
      response = await api("POST", "/api/v1/advisories", { reportIds: [reportId], title: "x", summary: "y", products: PRODUCTS, cvss40Vector: "CVSS:4.0/AV:Q" });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields).toHaveProperty("cvss40Vector");
      response = await api("POST", "/api/v1/advisories", { reportIds: [reportId], title: "x", summary: "y", products: PRODUCTS, cveId: "CVE-26-1" });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields).toHaveProperty("cveId");
      response = await api("POST", "/api/v1/advisories", {
        reportIds: [reportId], title: "x", summary: "y", products: PRODUCTS,
        credits: [{ name: "Eve", url: "https://eve.example/\r\nSet-Cookie: a=b", type: "finder" }, { name: "Mallory", url: "javascript:alert(1)" }],
        references: ["https://ref.example/\u0000"],
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields).toMatchObject({
        "credits.0.url": "must not contain spaces, line breaks, tabs or other control characters",
        "credits.1.url": "must be an http(s) URL",
        "references.0": "must not contain spaces, line breaks, tabs or other control characters",
      });
      expect((await api("POST", "/api/v1/advisories", { reportIds: [reportId], title: "x", summary: "y", products: PRODUCTS }, viewer.auth)).statusCode).toBe(403);
    });

    it("refuses publication with 409 disclosure_guard while a report is unresolved or under embargo, and keeps the draft invisible to the public", async () => {
      const reportId = await triagedReport();
      expect((await api("POST", `/api/v1/reports/${reportId}/upstreams`, { project: "Rails", status: "notified", embargoUntil: "2026-11-10" })).statusCode).toBe(201);
      const { id } = await draft([reportId]);

      let response = await api("POST", `/api/v1/advisories/${id}/publish`, {});
      expect(response.statusCode).toBe(409);
      expect(response.json().error.code).toBe("disclosure_guard");
      expect(response.json().error.message).toContain(`report #${reportId} is triaged, not resolved`);
      expect(response.json().error.message).toContain("embargo until 2026-11-10");

      await resolve(reportId);
      response = await api("POST", `/api/v1/advisories/${id}/publish`, {});
      expect(response.statusCode).toBe(409);
      expect(response.json().error.message).not.toContain("not resolved");
      expect(response.json().error.message).toContain("embargo until 2026-11-10");
      // Scheduling before the embargo ends is refused the same way.
      response = await api("POST", `/api/v1/advisories/${id}/schedule`, { at: "2026-11-09T12:00:00Z" });
      expect(response.statusCode).toBe(409);
      expect(response.json().error.code).toBe("disclosure_guard");

      expect(await reportState(reportId)).toBe("resolved");
      expect(await isPublic(id)).toEqual({ statuses: [404, 404, 404], listed: false, inFeed: false });
      expect((await api("GET", `/api/v1/advisories/${id}`)).json().state).toBe("draft");
    });

    it("lets only an admin override the guard, with the reason in the audit log", async () => {
      const reportId = await triagedReport();
      const { id } = await draft([reportId]);
      let response = await api("POST", `/api/v1/advisories/${id}/publish`, { overrideReason: "actively exploited" });
      expect(response.statusCode).toBe(403);
      response = await api("POST", `/api/v1/advisories/${id}/publish`, { overrideReason: "actively exploited; users must act now" }, admin.auth);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json().state).toBe("published");
      const events = await shield.database.db.selectFrom("audit_events").selectAll().where("subject_type", "=", "advisory").where("subject_id", "=", id).where("action", "=", "advisory.guard_overridden").execute();
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0]!.data)).toMatchObject({ reason: "actively exploited; users must act now", purpose: "publish" });
      expect(events[0]!.actor).toContain(admin.member.email);
      // The report was triaged, never resolved: the override does not bend the lifecycle.
      expect(await reportState(reportId)).toBe("triaged");
      const published = await shield.database.db.selectFrom("audit_events").select("data").where("subject_id", "=", id).where("action", "=", "advisory.published").executeTakeFirstOrThrow();
      expect(JSON.parse(published.data)).toMatchObject({ overridden: true, notDisclosed: [reportId] });
    });

    it("schedules once the report is resolved and the embargo will have passed, and the job publishes: report disclosed, reporter mailed the link, credit thanked, page and feed entry public", async () => {
      const reportId = await triagedReport({ reporter: { name: "Grace", email: "grace@example.org" }, credit: { name: "Grace Hopper", url: "https://grace.example.org" } });
      expect((await api("POST", `/api/v1/reports/${reportId}/upstreams`, { project: "Ruby", status: "notified", embargoUntil: "2026-11-20" })).statusCode).toBe(201);
      await resolve(reportId);
      const { id } = await draft([reportId], { credits: [{ name: "The Ruby security team", type: "coordinator" }], cveId: "CVE-2026-4242" });

      const response = await api("POST", `/api/v1/advisories/${id}/schedule`, { at: "2026-11-20T08:00:00Z" });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({ state: "scheduled", scheduledAt: "2026-11-20T08:00:00.000Z" });
      await shield.worker.drain();
      expect(await isPublic(id)).toEqual({ statuses: [404, 404, 404], listed: false, inFeed: false });

      clock.set("2026-11-20T08:00:01Z");
      await shield.worker.drain();
      const published = (await api("GET", `/api/v1/advisories/${id}`)).json();
      expect(published.state).toBe("published");
      expect(published.url).toBe(`https://security.example.test/security/advisories/${id}`);
      expect(published.revisions).toEqual([{ number: 1, summary: "Initial publication.", publishedAt: "2026-11-20T08:00:01.000Z" }]);
      expect(await reportState(reportId)).toBe("disclosed");
      await shield.worker.drain();
      const mail = mailsStartingWith(shield, `update-${reportId}-`).find((m) => m.includes(published.url));
      expect(mail && recipientOf(mail)).toBe("grace@example.org");

      expect(await isPublic(id)).toEqual({ statuses: [200, 200, 200], listed: true, inFeed: true });
      const page = (await get(`/security/advisories/${id}`)).body;
      expect(page).toContain("Grace Hopper");
      expect(page).toContain("The Ruby security team");
      expect(page).toContain("CVE-2026-4242");
      const thanks = (await get("/security/thanks")).body;
      expect(thanks).toContain("Grace Hopper");
      expect(thanks).toContain("https://grace.example.org");
      const osv = (await get(`/security/advisories/${id}/osv.json`)).json();
      expect(osv.credits).toEqual([
        { name: "Grace Hopper", contact: ["https://grace.example.org"], type: "FINDER" },
        { name: "The Ruby security team", type: "COORDINATOR" },
      ]);
      // The program is no CNA yet: no CVE record.
      expect((await get(`/security/advisories/${id}/cve.json`)).statusCode).toBe(404);
    });

    it("re-checks the guard when the scheduled time comes, and takes the advisory back to draft if it fails", async () => {
      clock.set("2026-11-21T09:00:00Z");
      const reportId = await triagedReport();
      await resolve(reportId);
      const { id } = await draft([reportId]);
      expect((await api("POST", `/api/v1/advisories/${id}/schedule`, { at: "2026-11-22T09:00:00Z" })).statusCode).toBe(200);
      // The fix did not hold.
      expect((await api("POST", `/api/v1/reports/${reportId}/transitions`, { to: "triaged", reason: "regression" })).statusCode).toBe(200);
      clock.set("2026-11-22T09:00:01Z");
      await shield.worker.drain();
      const advisory = (await api("GET", `/api/v1/advisories/${id}`)).json();
      expect(advisory.state).toBe("draft");
      const refused = await shield.database.db.selectFrom("audit_events").select("data").where("subject_id", "=", id).where("action", "=", "advisory.publication_refused").execute();
      expect(JSON.parse(refused[0]!.data).guard).toContain("not resolved");
      expect(await isPublic(id)).toEqual({ statuses: [404, 404, 404], listed: false, inFeed: false });
    });

    it("updates a published advisory only by a numbered revision with a summary, the earlier revisions staying readable", async () => {
      const reportId = await triagedReport();
      await resolve(reportId);
      const { id } = await draft([reportId]);
      expect((await api("POST", `/api/v1/advisories/${id}/publish`, {})).statusCode).toBe(200);
      let response = await api("PATCH", `/api/v1/advisories/${id}`, { title: "Stored XSS in comments and replies" });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields).toHaveProperty("revisionSummary");
      clock.advance(DAY);
      response = await api("PATCH", `/api/v1/advisories/${id}`, { title: "Stored XSS in comments and replies", revisionSummary: "Replies are affected too." });
      expect(response.statusCode).toBe(200);
      expect(response.json().revisions.map((r: { number: number; summary: string }) => [r.number, r.summary])).toEqual([
        [1, "Initial publication."],
        [2, "Replies are affected too."],
      ]);
      expect((await get(`/security/advisories/${id}`)).body).toContain("Stored XSS in comments and replies");
      const first = (await get(`/security/advisories/${id}?revision=1`)).body;
      expect(first).toContain("You are reading revision 1");
      expect(first).not.toContain("Stored XSS in comments and replies");
      expect((await get(`/security/advisories/${id}?revision=3`)).statusCode).toBe(404);
      const csaf = (await get(`/security/advisories/${id}/csaf.json`)).json();
      expect(csaf.document.tracking.version).toBe("2");
      expect(csaf.document.tracking.revision_history.map((r: { summary: string }) => r.summary)).toEqual(["Initial publication.", "Replies are affected too."]);
      expect((await api("GET", `/api/v1/advisories/${id}/revisions/1`)).json().content.title).toBe("Stored XSS in comments");
      expect((await api("POST", `/api/v1/advisories/${id}/publish`, {})).statusCode).toBe(409);
    });

    it("lists published advisories newest first on the page and in the Atom feed, and serves a CVE record once the program is a CNA", async () => {
      clock.advance(HOUR);
      const reportId = await triagedReport();
      await resolve(reportId);
      const { id } = await draft([reportId], { cveId: "CVE-2026-9999" });
      expect((await api("POST", `/api/v1/advisories/${id}/publish`, {})).statusCode).toBe(200);
      const list = (await get("/security/advisories")).body;
      const published = (await api("GET", "/api/v1/advisories?state=published")).json().advisories.map((a: { id: string }) => a.id);
      expect(published[0]).toBe(id);
      const positions = published.map((p: string) => list.indexOf(`>${p}:`));
      expect(positions.every((p: number) => p > 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      const feed = await get("/security/advisories.atom");
      expect(feed.headers["content-type"]).toContain("application/atom+xml");
      expect(feed.body.indexOf(id)).toBeLessThan(feed.body.indexOf(published[1]));

      await updateSetting(shield.settings, clock, { kind: "cli" }, "advisories", { idPrefix: "SEC", disclosureDeadlineDays: 90, cveOrgId: "b3476cb9-2e3d-41a6-98d0-0f47421a65b6", cveShortName: "example" });
      const cve = await get(`/security/advisories/${id}/cve.json`);
      expect(cve.statusCode).toBe(200);
      expect(cve.json().cveMetadata).toMatchObject({ cveId: "CVE-2026-9999", state: "PUBLISHED" });
    });

    it("keeps a draft held back by the guard and a scheduled advisory out of every public place: pages, list, feed, the three exports, the CSAF directory and the API without a token, while a published one is in each", async () => {
      // The program is a CNA by now (the test before): a draft's CVE id must not leak as a record either.
      const heldBack = (await draft([await triagedReport()], { cveId: "CVE-2026-5555" })).id as string;
      expect((await api("POST", `/api/v1/advisories/${heldBack}/publish`, {})).statusCode).toBe(409);
      const scheduledReport = await triagedReport();
      await resolve(scheduledReport);
      const scheduled = (await draft([scheduledReport], { cveId: "CVE-2026-5556" })).id as string;
      expect((await api("POST", `/api/v1/advisories/${scheduled}/schedule`, { at: new Date(clock.now().getTime() + DAY).toISOString() })).statusCode).toBe(200);
      const publishedReport = await triagedReport();
      await resolve(publishedReport);
      const published = (await draft([publishedReport], { cveId: "CVE-2026-5557" })).id as string;
      expect((await api("POST", `/api/v1/advisories/${published}/publish`, {})).statusCode).toBe(200);

      const seenBy = async (id: string) => {
        const file = `/.well-known/csaf/white/${id.split("-")[1]}/${id.toLowerCase()}.json`;
        const statuses = await Promise.all(
          [`/security/advisories/${id}`, `/security/advisories/${id}?revision=1`, ...["osv", "csaf", "cve"].map((f) => `/security/advisories/${id}/${f}.json`), file, `${file}.asc`, `${file}.sha256`].map(async (url) => (await get(url)).statusCode),
        );
        const listings = await Promise.all(["/security/advisories", "/security/advisories.atom", "/.well-known/csaf/white/index.txt", "/.well-known/csaf/white/changes.csv"].map(async (url) => (await get(url)).body.toLowerCase().includes(id.toLowerCase())));
        const anonymous = await Promise.all([`/api/v1/advisories/${id}`, "/api/v1/advisories"].map(async (url) => (await get(url)).statusCode));
        const viewerSees = (await api("GET", `/api/v1/advisories/${id}`, undefined, viewer.auth)).statusCode;
        return { statuses, listings, anonymous, viewerSees };
      };
      const hidden = { statuses: [404, 404, 404, 404, 404, 404, 404, 404], listings: [false, false, false, false], anonymous: [401, 401], viewerSees: 200 };
      expect(await seenBy(heldBack)).toEqual(hidden);
      expect(await seenBy(scheduled)).toEqual(hidden);
      expect(await seenBy(published)).toEqual({ statuses: [200, 200, 200, 200, 200, 200, 200, 200], listings: [true, true, true, true], anonymous: [401, 401], viewerSees: 200 });
    });

    it("thanks the credited once: an entry imported earlier with the same name and link is not repeated, and a reporter who asked not to be credited is named nowhere", async () => {
      await importHallOfFame(shield.database.db, clock, { kind: "cli" }, "# Hall of fame\n\n- [Jane Doe](https://janedoe.example)\n- Peggy\n");
      const credited = await triagedReport({ credit: { name: "Jane Doe", url: "https://janedoe.example" } });
      const unnamed = await triagedReport({ reporter: { name: "Quiet Quentin", email: "quentin@example.org" }, credit: { name: "Quentin Q.", url: "https://quentin.example", anonymous: true } });
      await resolve(credited);
      await resolve(unnamed);
      const { id } = await draft([credited, unnamed]);
      expect((await api("POST", `/api/v1/advisories/${id}/publish`, {})).statusCode).toBe(200);

      const thanks = (await get("/security/thanks")).body;
      expect(thanks.split(">Jane Doe<")).toHaveLength(2);
      const page = (await get(`/security/advisories/${id}`)).body;
      expect(page).toContain("Jane Doe");
      const everywhere = [thanks, page, ...(await Promise.all(["osv", "csaf"].map(async (f) => (await get(`/security/advisories/${id}/${f}.json`)).body))), (await get("/security/advisories.atom")).body];
      for (const text of everywhere) for (const name of ["Quentin", "quentin.example"]) expect(text).not.toContain(name);
      expect((await api("GET", `/api/v1/advisories/${id}/revisions/1`)).json().content.credits).toEqual([{ name: "Jane Doe", url: "https://janedoe.example", type: "finder", reportId: credited }]);
    });

    it("shows each report's disclosure deadline in the team API as the desk's clock: running, then missed once past due, and met when an advisory disclosed it in time", async () => {
      const openapi = (await get("/api/v1/openapi.json")).json();
      const schemaOf = (path: string) => JSON.stringify(openapi.paths[path].get.responses["200"]);
      for (const path of ["/api/v1/reports/{id}", "/api/v1/reports"]) expect(schemaOf(path)).toContain('"disclosureDeadline"');

      clock.set("2026-12-01T10:00:00Z");
      const lateId = await triagedReport();
      const inTimeId = await triagedReport();
      const deadline = async (id: number) => (await api("GET", `/api/v1/reports/${id}`)).json().disclosureDeadline;
      const listed = async (id: number) => (await api("GET", "/api/v1/reports?state=triaged,resolved,disclosed&limit=100")).json().reports.find((r: { id: number }) => r.id === id).disclosureDeadline;
      // 90 days from receipt, the settings' default.
      expect(await deadline(lateId)).toEqual({ dueAt: "2027-03-01T10:00:00.000Z", state: "running", stoppedAt: null });
      expect(await listed(lateId)).toEqual(await deadline(lateId));

      clock.set("2027-02-01T10:00:00Z");
      await resolve(inTimeId);
      const { id } = await draft([inTimeId]);
      expect((await api("POST", `/api/v1/advisories/${id}/publish`, {})).statusCode).toBe(200);
      expect(await deadline(inTimeId)).toEqual({ dueAt: "2027-03-01T10:00:00.000Z", state: "met", stoppedAt: "2027-02-01T10:00:00.000Z" });

      clock.set("2027-03-01T10:00:01Z");
      expect(await deadline(lateId)).toEqual({ dueAt: "2027-03-01T10:00:00.000Z", state: "missed", stoppedAt: null });
      expect(await listed(lateId)).toMatchObject({ state: "missed" });
      // A report closed without a fix has none.
      const spam = (await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput() })).json().id as number;
      expect(await deadline(spam)).toMatchObject({ state: "running" });
      expect((await api("POST", `/api/v1/reports/${spam}/transitions`, { to: "spam", reason: "advertising" })).statusCode).toBe(200);
      expect(await deadline(spam)).toBeNull();
    });
  });
});
