import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PNG } from "../../../test/attachment-fixtures.js";
import { FakeClock, HOUR, MINUTE } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, TestBrowser, totpCodeAt, type EnrolledMember } from "../../../test/sign-in.js";
import { openForm, postForm, reportFormParts } from "../../../test/web-forms.js";
import type { SubmitReportBody } from "../../modules/intake/index.js";
import { DEFAULT_SETTINGS, updateSetting } from "../../modules/settings/index.js";

/** The text a person reads in an element, whitespace collapsed. */
function textOf(element: Element | null | undefined): string {
  return (element?.textContent ?? "").replace(/\s+/g, " ").trim();
}

forEachDatabase((kind) => {
  let shield: TestShield;
  let clock: FakeClock;
  let triager: EnrolledMember;
  let viewer: EnrolledMember;
  let admin: EnrolledMember;
  let ip = 0;

  beforeAll(async () => {
    clock = new FakeClock();
    shield = await createTestShield(kind, { clock });
    triager = await addEnrolledMember(shield, clock, "triager");
    viewer = await addEnrolledMember(shield, clock, "viewer");
    admin = await addEnrolledMember(shield, clock, "admin");
  });
  afterAll(async () => shield.destroy());

  const signedIn = async (who: EnrolledMember) => {
    clock.advance(30_000);
    const b = new TestBrowser(shield, `198.51.100.${++ip}`);
    const done = await b.signIn(who.member.email, who.password, await totpCodeAt(who.secret, clock));
    expect(done.statusCode).toBe(303);
    return b;
  };

  const submit = async (overrides: Partial<SubmitReportBody> = {}): Promise<number> => {
    const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput(overrides) });
    expect(response.statusCode).toBe(201);
    return response.json<{ id: number }>().id;
  };

  const api = (member: EnrolledMember) => ({ authorization: `Bearer ${member.apiToken}` });
  const queueIds = (html: string) => [...parseHtml(html).querySelectorAll("table.queue tbody tr")].map((tr) => Number((tr as HTMLElement).dataset.reportId));
  const reportState = async (id: number) => (await shield.database.db.selectFrom("reports").select("state").where("id", "=", id).executeTakeFirstOrThrow()).state;

  describe("the queue", () => {
    let vulnerability: number;
    let attack: number;
    let closed: number;

    beforeAll(async () => {
      vulnerability = await submit({ channel: "vulnerability", title: "Queue: open redirect in login", description: "The next parameter is not checked: zanzibarword." });
      clock.advance(MINUTE);
      attack = await submit({ channel: "account_attack", title: "Queue: my account is being taken over", description: "Someone resets my password." });
      closed = await submit({ title: "Queue: buy cheap watches" });
      const spam = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${closed}/transitions`, headers: api(triager), payload: { to: "spam", reason: "spam" } });
      expect(spam.statusCode).toBe(200);
    });

    it("sends a signed-in member to the desk after sign-in", async () => {
      clock.advance(30_000);
      const b = new TestBrowser(shield, `198.51.100.${++ip}`);
      const done = await b.signIn(viewer.member.email, viewer.password, await totpCodeAt(viewer.secret, clock));
      expect(done.headers.location).toBe("/desk");
    });

    it("lists open reports closest to a missed target first, with a countdown to each target", async () => {
      const b = await signedIn(viewer);
      const page = await b.get("/desk");
      expect(page.statusCode).toBe(200);
      expect(page.headers["cache-control"]).toBe("no-store");
      const ids = queueIds(page.body);
      expect(ids.indexOf(attack)).toBeLessThan(ids.indexOf(vulnerability));
      expect(ids).not.toContain(closed);
      const doc = parseHtml(page.body);
      const row = doc.querySelector(`tr[data-report-id="${attack}"]`)!;
      expect(textOf(row.querySelector(".queue-title"))).toBe(`#${attack} Queue: my account is being taken over`);
      expect(textOf(row)).toContain("Account under attack");
      expect(textOf(row)).toContain("Unassigned");
      const [firstResponse, triage] = [...row.querySelectorAll("time[data-countdown]")];
      // Two hours promised, one minute (and the sign-in's 30 s steps) gone by.
      expect(textOf(firstResponse)).toMatch(/^1 h 5\d min left$/);
      expect(textOf(triage)).toMatch(/^3 h 5\d min left$/);
    });

    it("says how long ago a target was missed, and shows the clock paused while waiting for the reporter", async () => {
      const late = await submit({ channel: "account_attack", title: "Queue: late one" });
      const waiting = await submit({ channel: "vulnerability", title: "Queue: waiting one" });
      expect((await shield.app.inject({ method: "POST", url: `/api/v1/reports/${waiting}/transitions`, headers: api(triager), payload: { to: "acknowledged", reason: "ok" } })).statusCode).toBe(200);
      expect(
        (await shield.app.inject({ method: "POST", url: `/api/v1/reports/${waiting}/transitions`, headers: api(triager), payload: { to: "needs_info", reason: "ask", message: "Which version?" } })).statusCode,
      ).toBe(200);
      clock.advance(2 * HOUR + 20 * MINUTE);
      const b = await signedIn(viewer);
      const doc = parseHtml((await b.get("/desk")).body);
      expect(queueIds(doc.documentElement.outerHTML)[0]).toBe(attack);
      const lateClock = doc.querySelector(`tr[data-report-id="${late}"] time[data-countdown]`)!;
      expect(textOf(lateClock)).toMatch(/^missed 2\d min ago$/);
      expect(lateClock.classList.contains("urgency-missed")).toBe(true);
      const waitingClocks = [...doc.querySelectorAll(`tr[data-report-id="${waiting}"] td`)].map(textOf);
      expect(waitingClocks.slice(6)).toEqual(["met", "paused", "—"]);
    });

    it("filters by state, channel, owner and severity, and searches the full text like the API", async () => {
      await shield.app.inject({ method: "POST", url: `/api/v1/reports/${vulnerability}/transitions`, headers: api(triager), payload: { to: "acknowledged", reason: "mine" } });
      await shield.app.inject({ method: "PATCH", url: `/api/v1/reports/${vulnerability}`, headers: api(triager), payload: { severity: "high" } });
      const b = await signedIn(triager);
      expect(queueIds((await b.get("/desk?state=spam")).body)).toEqual([closed]);
      expect(queueIds((await b.get("/desk?channel=account_attack")).body).every((id) => id !== vulnerability)).toBe(true);
      expect(queueIds((await b.get("/desk?owner=me")).body)).toContain(vulnerability);
      expect(queueIds((await b.get("/desk?owner=none")).body)).not.toContain(vulnerability);
      expect(queueIds((await b.get(`/desk?owner=${encodeURIComponent(triager.member.email)}`)).body)).toContain(vulnerability);
      expect(queueIds((await b.get("/desk?severity=high")).body)).toEqual([vulnerability]);
      expect(queueIds((await b.get("/desk?q=zanzibarw")).body)).toEqual([vulnerability]);
      expect(queueIds((await b.get("/desk?q=zanzibarword&state=all")).body)).toEqual([vulnerability]);
      const searchPage = parseHtml((await b.get("/desk?q=zanzibarword&severity=high")).body);
      expect((searchPage.querySelector("#f-q") as HTMLInputElement).value).toBe("zanzibarword");
      expect((searchPage.querySelector("#f-severity") as HTMLSelectElement).value).toBe("high");
    });

    it("shows the date by which each report must be disclosed, 90 days from receipt, and flags one past it", async () => {
      const fresh = await submit({ channel: "vulnerability", title: "Queue: disclosure fresh" });
      const old = await submit({ channel: "vulnerability", title: "Queue: disclosure old" });
      // Received 91 days ago: its promise (90 days, kept with its terms) has passed.
      const receivedAt = new Date(clock.now().getTime() - 91 * 24 * HOUR).toISOString();
      await shield.database.db.updateTable("reports").set({ received_at: receivedAt }).where("id", "=", old).execute();
      const b = await signedIn(viewer);
      const doc = parseHtml((await b.get("/desk")).body);
      const freshState = doc.querySelector(`tr[data-report-id="${fresh}"] .queue-state`)!;
      const freshDue = new Date(Date.parse((await shield.database.db.selectFrom("reports").select("received_at").where("id", "=", fresh).executeTakeFirstOrThrow()).received_at) + 90 * 24 * HOUR);
      expect(textOf(freshState.querySelector(".disclose-by"))).toBe(`Disclose by ${freshDue.toISOString().slice(0, 10)}`);
      expect(freshState.querySelector(".badge-past-disclosure")).toBeNull();
      const oldState = doc.querySelector(`tr[data-report-id="${old}"] .queue-state`)!;
      expect(textOf(oldState.querySelector(".badge-past-disclosure"))).toBe("Past disclosure deadline");
      expect(textOf(oldState.querySelector(".disclose-by"))).toBe(`Disclose by ${new Date(Date.parse(receivedAt) + 90 * 24 * HOUR).toISOString().slice(0, 10)}`);

      // The report page shows it with the other clocks; a change of the setting does not move a promise made.
      await updateSetting(shield.settings, clock, { kind: "cli" }, "advisories", { ...DEFAULT_SETTINGS.advisories, disclosureDeadlineDays: 200 });
      const reportPage = parseHtml((await b.get(`/desk/reports/${old}`)).body);
      const clockItem = [...reportPage.querySelectorAll(".clocks li")].find((li) => textOf(li).startsWith("Disclose by:"))!;
      expect(textOf(clockItem)).toMatch(/^Disclose by: missed 1 d( \d+ h)? ago \(due .+ UTC\)$/);
      const later = await submit({ channel: "vulnerability", title: "Queue: disclosure after the change" });
      const laterDue = new Date(Date.parse((await shield.database.db.selectFrom("reports").select("received_at").where("id", "=", later).executeTakeFirstOrThrow()).received_at) + 200 * 24 * HOUR);
      const laterPage = parseHtml((await b.get("/desk")).body);
      expect(textOf(laterPage.querySelector(`tr[data-report-id="${later}"] .disclose-by`))).toBe(`Disclose by ${laterDue.toISOString().slice(0, 10)}`);
      await updateSetting(shield.settings, clock, { kind: "cli" }, "advisories", DEFAULT_SETTINGS.advisories);
    });

    it("keeps resolved reports that await their advisory findable: the open queue says how many wait and leads to them, each with its disclosure date and its advisory", async () => {
      const resolved: number[] = [];
      for (const title of ["Queue: fixed, advisory drafted", "Queue: fixed, no advisory"]) {
        const id = await submit({ channel: "vulnerability", title });
        for (const [method, url, payload] of [
          ["POST", `/api/v1/reports/${id}/transitions`, { to: "acknowledged", reason: "read" }],
          ["PATCH", `/api/v1/reports/${id}`, { severity: "medium" }],
          ["POST", `/api/v1/reports/${id}/transitions`, { to: "triaged", reason: "reproduced" }],
          ["POST", `/api/v1/reports/${id}/transitions`, { to: "resolved", reason: "fixed" }],
        ] as const) expect((await shield.app.inject({ method, url, headers: api(triager), payload })).statusCode).toBe(200);
        resolved.push(id);
        clock.advance(MINUTE);
      }
      const drafted = await shield.app.inject({
        method: "POST",
        url: "/api/v1/advisories",
        headers: api(triager),
        payload: { reportIds: [resolved[0]], title: "Open redirect", summary: "Fixed.", products: [{ vendor: "Example Inc.", product: "Basecamp", ranges: [{ introduced: "0", fixed: "4.2.1" }], fixedVersion: "4.2.1" }] },
      });
      expect(drafted.statusCode).toBe(201);
      const advisoryId = drafted.json().id as string;
      const receivedOf = async (id: number) => (await shield.database.db.selectFrom("reports").select("received_at").where("id", "=", id).executeTakeFirstOrThrow()).received_at;
      const dueOf = async (id: number) => new Date(Date.parse(await receivedOf(id)) + 90 * 24 * HOUR).toISOString().slice(0, 10);

      const b = await signedIn(viewer);
      const open = parseHtml((await b.get("/desk")).body);
      for (const id of resolved) expect(queueIds(open.documentElement.outerHTML)).not.toContain(id);
      const notice = open.querySelector("#awaiting-disclosure");
      expect(textOf(notice)).toBe(`2 resolved reports await disclosure, the first to be disclosed by ${await dueOf(resolved[0]!)}. Show the reports awaiting disclosure`);
      expect(notice!.querySelector("a")!.getAttribute("href")).toBe("/desk?state=resolved");
      // The state filter names them so too.
      const option = open.querySelector('#f-state option[value="resolved"]');
      expect(textOf(option)).toBe("Resolved, awaiting disclosure");

      const waiting = parseHtml((await b.get("/desk?state=resolved")).body);
      expect(queueIds(waiting.documentElement.outerHTML)).toEqual(resolved);
      expect(textOf(waiting.querySelector(".queue-count"))).toBe("Reports 1–2 of 2, received first, so the nearest disclosure deadline leads.");
      expect((waiting.querySelector("#f-state") as HTMLSelectElement).value).toBe("resolved");
      const [first, second] = resolved.map((id) => waiting.querySelector(`tr[data-report-id="${id}"] .queue-state`)!);
      expect(textOf(first!.querySelector(".disclose-by"))).toBe(`Disclose by ${await dueOf(resolved[0]!)}`);
      expect(textOf(first!.querySelector(".queue-advisories"))).toBe(`Advisory ${advisoryId} (Draft)`);
      expect(first!.querySelector(".queue-advisories a")!.getAttribute("href")).toBe(`/desk/advisories/${advisoryId}`);
      expect(textOf(second!.querySelector(".queue-advisories"))).toBe("No advisory yet");
      // Filters apply to the count as to the queue: nobody's own reports are resolved.
      expect(parseHtml((await b.get("/desk?owner=none")).body).querySelector("#awaiting-disclosure")).toBeNull();
    });

    it("shows a bad filter value next to its field and still lists the queue", async () => {
      const b = await signedIn(viewer);
      const page = await b.get("/desk?state=bogus&q=%2B%2B%2B&owner=nobody%40example.org");
      expect(page.statusCode).toBe(200);
      const doc = parseHtml(page.body);
      expect(textOf(doc.querySelector("#f-state-error"))).toBe("is not a state of a report");
      expect(textOf(doc.querySelector("#f-q-error"))).toBe("must contain a word");
      expect(textOf(doc.querySelector("#f-owner-error"))).toBe("is not a team member");
      expect(doc.querySelector("#f-state")?.getAttribute("aria-invalid")).toBe("true");
    });

    it("pages through the queue with links that keep the filters", async () => {
      for (let i = 0; i < 26; i++) await submit({ channel: "sensitive", title: `Queue: paging ${i}` });
      const b = await signedIn(viewer);
      const first = parseHtml((await b.get("/desk?channel=sensitive")).body);
      expect(first.querySelectorAll("table.queue tbody tr")).toHaveLength(25);
      expect(textOf(first.querySelector(".queue-count"))).toBe("Reports 1–25 of 26, closest to a missed target first.");
      const next = first.querySelector("a[rel=next]")?.getAttribute("href");
      expect(next).toBe("/desk?channel=sensitive&page=2");
      const second = parseHtml((await b.get(next!)).body);
      expect(second.querySelectorAll("table.queue tbody tr")).toHaveLength(1);
      expect(second.querySelector("a[rel=prev]")?.getAttribute("href")).toBe("/desk?channel=sensitive");
    });

    it("answers only the escaped results when the page's script asks for them", async () => {
      const xss = await submit({ channel: "account_attack", title: `<img src=x onerror=alert(1)>"'` });
      const b = await signedIn(viewer);
      const response = await shield.app.inject({ method: "GET", url: "/desk", headers: { cookie: b.cookieHeader(), "x-desk-fragment": "results" }, remoteAddress: b.remoteAddress });
      expect(response.statusCode).toBe(200);
      expect(response.body.trimStart().startsWith('<div id="desk-results"')).toBe(true);
      expect(response.body).not.toContain("<html");
      expect(response.body).not.toContain("<img");
      expect(response.body).toContain("&lt;img src=x onerror=alert(1)&gt;");
      expect(queueIds(response.body)).toContain(xss);
    });

    it("sends a visitor who is not signed in to the sign-in page", async () => {
      const response = await shield.app.inject({ method: "GET", url: "/desk?state=all" });
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(`/login?next=${encodeURIComponent("/desk?state=all")}`);
    });
  });

  describe("the report page", () => {
    it("shows the report with Markdown made safe, audits the read, and lists the whole audit trail", async () => {
      const id = await submit({
        title: "<script>alert('title')</script>",
        description: "**Bold** <b>raw</b> [link](https://example.org/x) ![pixel](https://tracker.example/p.png)\n\n<script>alert(1)</script>",
        steps: "1. `<svg onload=alert(1)>`",
        impact: "[js](javascript:alert(1))",
        credit: { name: "Ada <i>", url: "https://ada.example/" },
      });
      const b = await signedIn(viewer);
      const page = await b.get(`/desk/reports/${id}`);
      expect(page.statusCode).toBe(200);
      const doc = parseHtml(page.body);
      expect(textOf(doc.querySelector("h1 .report-title"))).toBe("<script>alert('title')</script>");
      expect(doc.querySelectorAll("main script")).toHaveLength(1);
      expect(doc.querySelector("main script")?.getAttribute("src")).toBe("/assets/js/desk.js");
      const description = doc.querySelector("#report-description")!;
      expect(description.querySelector("strong")?.textContent).toBe("Bold");
      expect(description.querySelector("b")).toBeNull();
      expect(description.querySelector("a")?.getAttribute("rel")).toBe("nofollow ugc noopener");
      expect(description.querySelector("img")).toBeNull();
      expect(doc.querySelector("#report-impact a")?.getAttribute("href") ?? null).toBeNull();
      expect(doc.querySelector("#report-steps svg")).toBeNull();

      const events = await shield.database.db.selectFrom("audit_events").selectAll().where("subject_id", "=", String(id)).orderBy("seq").execute();
      expect(events.map((e) => e.action)).toEqual(["report.received", "report.viewed"]);
      expect(events[1]!.actor).toBe(`user:${viewer.member.id}:${viewer.member.email}`);
      const trail = [...doc.querySelectorAll("table.audit tbody tr")].map((tr) => textOf(tr.children[3]!));
      expect(trail).toEqual(["report.received", "report.viewed"]);
    });

    it("shows the latest 100 events of a long audit trail, all of them when asked, and the clocks from its state changes", async () => {
      const id = await submit({ title: "Often read" });
      const b = await signedIn(viewer);
      for (let i = 0; i < 120; i++) expect((await b.get(`/desk/reports/${id}`)).statusCode).toBe(200);
      const page = parseHtml((await b.get(`/desk/reports/${id}`)).body);
      const rows = [...page.querySelectorAll("table.audit tbody tr")].map((tr) => Number(textOf(tr.children[0]!)));
      const seqs = (await shield.database.db.selectFrom("audit_events").select("seq").where("subject_type", "=", "report").where("subject_id", "=", String(id)).orderBy("seq").execute()).map((e) => Number(e.seq));
      // 122 events: received and 121 views (this page's own view included); the latest 100, oldest first.
      expect(seqs).toHaveLength(122);
      expect(rows).toEqual(seqs.slice(-100));
      expect(textOf(page.querySelector("#audit-shown"))).toBe("The latest 100 of 122 events, oldest first. Show all 122");
      expect(page.querySelector("#audit-shown a")?.getAttribute("href")).toBe(`/desk/reports/${id}?audit=all#audit`);

      const whole = parseHtml((await b.get(`/desk/reports/${id}?audit=all`)).body);
      const all = [...whole.querySelectorAll("table.audit tbody tr")];
      expect(all).toHaveLength(123);
      expect(textOf(all[0]!.children[3]!)).toBe("report.received");
      expect(whole.querySelector("#audit-shown")).toBeNull();
    });

    it("hides the readings (report.viewed) from the audit trail shown when asked, and keeps them in the log", async () => {
      const id = await submit({ title: "Read and moved" });
      const b = await signedIn(triager);
      for (let i = 0; i < 3; i++) await b.get(`/desk/reports/${id}`);
      await b.post(`/desk/reports/${id}/transitions`, { to: "acknowledged", reason: "ok" });
      const page = parseHtml((await b.get(`/desk/reports/${id}`)).body);
      const toggle = page.querySelector("#audit-views a")!;
      expect(textOf(toggle)).toBe("Hide readings (report.viewed)");
      expect(toggle.getAttribute("href")).toBe(`/desk/reports/${id}?views=hidden#audit`);

      const hidden = parseHtml((await b.get(`/desk/reports/${id}?views=hidden`)).body);
      expect([...hidden.querySelectorAll("table.audit tbody tr")].map((tr) => textOf(tr.children[3]!))).toEqual(["report.received", "report.transitioned"]);
      expect(textOf(hidden.querySelector("#audit-views"))).toBe("Readings of the report (report.viewed) are hidden here; the log keeps them. Show readings");
      expect(hidden.querySelector("#audit-views a")?.getAttribute("href")).toBe(`/desk/reports/${id}#audit`);
      const whole = parseHtml((await b.get(`/desk/reports/${id}?audit=all&views=hidden`)).body);
      expect(whole.querySelectorAll("table.audit tbody tr")).toHaveLength(2);

      const stored = await shield.database.db.selectFrom("audit_events").select("action").where("subject_type", "=", "report").where("subject_id", "=", String(id)).execute();
      // Every page view above is kept: three, the page after the move, and the two with readings hidden.
      expect(stored.filter((e) => e.action === "report.viewed")).toHaveLength(6);
    });

    it("links attachments as downloads only, served to a signed-in member and audited", async () => {
      const form = await openForm(shield, "/security/report");
      const sent = await postForm(shield, "/security/report", form, [...reportFormParts({ title: "Page: with a file" }), { name: "attachments", value: PNG, filename: "<img src=x onerror=alert(1)>.html" }]);
      expect(sent.statusCode).toBe(303);
      const id = (await shield.database.db.selectFrom("reports").select("id").where("title", "=", "Page: with a file").executeTakeFirstOrThrow()).id;
      const b = await signedIn(viewer);
      const doc = parseHtml((await b.get(`/desk/reports/${id}`)).body);
      const link = doc.querySelector(".attachments a")!;
      expect(link.textContent).toBe("<img src=x onerror=alert(1)>.html");
      expect(link.hasAttribute("download")).toBe(true);
      expect(doc.querySelectorAll(".report-body img")).toHaveLength(0);
      const download = await b.get(link.getAttribute("href")!);
      expect(download.statusCode).toBe(200);
      expect(download.headers["content-type"]).toBe("application/octet-stream");
      expect(String(download.headers["content-disposition"])).toMatch(/^attachment;/);
      expect(download.rawPayload.equals(PNG)).toBe(true);
      const audit = await shield.database.db.selectFrom("audit_events").select("actor").where("action", "=", "attachment.downloaded").where("subject_id", "=", String(id)).execute();
      expect(audit.map((a) => a.actor)).toEqual([`user:${viewer.member.id}:${viewer.member.email}`]);
      expect((await shield.app.inject({ method: "GET", url: link.getAttribute("href")! })).statusCode).toBe(303);
    });

    it("shows an image in reporter text as a link, and refuses a desk page or download loaded as an image before any read is audited", async () => {
      const target = await submit({ title: "Target of a planted image" });
      const form = await openForm(shield, "/security/report");
      const sent = await postForm(shield, "/security/report", form, [...reportFormParts({ title: "Page: a file to pull" }), { name: "attachments", value: PNG, filename: "pull.png" }]);
      expect(sent.statusCode).toBe(303);
      const withFile = (await shield.database.db.selectFrom("reports").select("id").where("title", "=", "Page: a file to pull").executeTakeFirstOrThrow()).id;
      const b = await signedIn(viewer);
      const download = parseHtml((await b.get(`/desk/reports/${withFile}`)).body).querySelector(".attachments a")!.getAttribute("href")!;
      const planted = await submit({ title: "Planted images", description: `Look: ![the other report](/desk/reports/${target}) and ![a file](${download})` });
      const doc = parseHtml((await b.get(`/desk/reports/${planted}`)).body);
      const description = doc.querySelector("#report-description")!;
      expect(description.querySelectorAll("img")).toHaveLength(0);
      expect([...description.querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual([`/desk/reports/${target}`, download]);
      expect(textOf(description)).toBe(`Look: image: the other report (/desk/reports/${target}) and image: a file (${download})`);

      const readsOf = async (action: string, id: number) =>
        (await shield.database.db.selectFrom("audit_events").select("action").where("action", "=", action).where("subject_id", "=", String(id)).execute()).length;
      const viewsBefore = await readsOf("report.viewed", target);
      const downloadsBefore = await readsOf("attachment.downloaded", withFile);
      for (const dest of ["image", "script", "style", "iframe", "object"]) {
        for (const url of [`/desk/reports/${target}`, download, "/desk", "/team/account", "/desk/settings"]) {
          const refused = await b.get(url, { headers: { "sec-fetch-dest": dest, "sec-fetch-site": "same-origin" } });
          expect(refused.statusCode, `${dest} ${url}`).toBe(403);
          expect(refused.headers["content-type"]).toMatch(/^text\/plain/);
        }
      }
      expect(await readsOf("report.viewed", target)).toBe(viewsBefore);
      expect(await readsOf("attachment.downloaded", withFile)).toBe(downloadsBefore);

      // Opened as a page, fetched by our own scripts, or by a client without the header: served and audited as before.
      expect((await b.get(`/desk/reports/${target}`, { headers: { "sec-fetch-dest": "document" } })).statusCode).toBe(200);
      expect((await b.get(`/desk/reports/${target}`, { headers: { "sec-fetch-dest": "empty", "x-desk-fragment": "results" } })).statusCode).toBe(200);
      expect((await b.get(download, { headers: { "sec-fetch-dest": "document" } })).statusCode).toBe(200);
      expect(await readsOf("report.viewed", target)).toBe(viewsBefore + 2);
      expect(await readsOf("attachment.downloaded", withFile)).toBe(downloadsBefore + 1);
    });

    it("suggests weaknesses for the CWE field to a signed-in member", async () => {
      const b = await signedIn(triager);
      const response = await b.get("/desk/cwe?q=sql%20injection");
      expect(response.statusCode).toBe(200);
      expect(response.json().weaknesses[0]).toEqual({ id: "CWE-89", name: "Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')" });
      expect((await shield.app.inject({ method: "GET", url: "/desk/cwe?q=sql" })).statusCode).toBe(303);
    });

    it("answers 404 with a page for a report that does not exist", async () => {
      const b = await signedIn(viewer);
      const page = await b.get("/desk/reports/999999");
      expect(page.statusCode).toBe(404);
      expect(textOf(parseHtml(page.body).querySelector("main"))).toContain("Report 999999 does not exist.");
    });
  });

  describe("actions", () => {
    it("acknowledges, triages with a CVSS vector, assigns, replies, notes and closes a report", async () => {
      const id = await submit({ title: "Actions: SQL injection in search", description: "The q parameter is concatenated into SQL." });
      const b = await signedIn(triager);
      const page = parseHtml((await b.get(`/desk/reports/${id}`)).body);
      expect(page.querySelector("#form-transition-acknowledged button")?.textContent).toBe("Acknowledge");

      const ack = await b.post(`/desk/reports/${id}/transitions`, { to: "acknowledged", reason: "Acknowledged", message: "" });
      expect(ack.statusCode).toBe(303);
      expect(ack.headers.location).toBe(`/desk/reports/${id}?done=transition#actions`);
      expect(await reportState(id)).toBe("acknowledged");
      const after = parseHtml((await b.get(ack.headers.location as string)).body);
      expect(textOf(after.querySelector("[role=status]"))).toBe("The report is now Acknowledged.");
      expect(textOf(after.querySelector("#report-owner"))).toBe(triager.member.name);

      const triaged = await b.post(`/desk/reports/${id}/assessment`, {
        cvss31Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        cvss40Vector: "",
        severity: "",
        cwe: "CWE-89",
        asset: "www.example.com",
        affectedVersions: "< 2.4.1",
        markTriaged: "yes",
        reason: "Triaged on the desk",
      });
      expect(triaged.statusCode).toBe(303);
      expect(triaged.headers.location).toBe(`/desk/reports/${id}?done=assessment-triaged#assessment`);
      expect(await reportState(id)).toBe("triaged");
      const triagedPage = parseHtml((await b.get(`/desk/reports/${id}`)).body);
      expect(textOf(triagedPage.querySelector("#cvss31-score"))).toBe("Score 9.8 (critical)");
      expect(textOf(triagedPage.querySelector("#report-severity"))).toBe("critical");
      expect(textOf(triagedPage.querySelector(".report-facts"))).toContain("CWE-89: Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')");

      const other = await addEnrolledMember(shield, clock, "triager");
      await b.get(`/desk/reports/${id}`);
      expect((await b.post(`/desk/reports/${id}/owner`, { ownerEmail: other.member.email })).statusCode).toBe(303);
      expect(textOf(parseHtml((await b.get(`/desk/reports/${id}`)).body).querySelector("#report-owner"))).toBe(other.member.name);

      expect((await b.post(`/desk/reports/${id}/messages`, { body: "Thanks, **confirmed**.", kind: "reply" })).statusCode).toBe(303);
      expect((await b.post(`/desk/reports/${id}/messages`, { body: "Check the ORM too.", kind: "note" })).statusCode).toBe(303);
      const thread = parseHtml((await b.get(`/desk/reports/${id}`)).body);
      const messages = [...thread.querySelectorAll(".thread .message")];
      expect(messages.map((m) => textOf(m.querySelector(".markdown")))).toEqual(["Thanks, confirmed.", "Check the ORM too."]);
      expect(messages[1]!.classList.contains("message-internal")).toBe(true);
      const jobs = await shield.database.db.selectFrom("jobs").select(["kind", "payload"]).where("kind", "=", "mail.report_update").execute();
      expect(jobs.filter((j) => JSON.parse(j.payload).reportId === id).length).toBeGreaterThanOrEqual(2);

      const closePage = parseHtml((await b.get(`/desk/reports/${id}`)).body);
      const canned = (closePage.querySelector("#informative-message") as HTMLTextAreaElement).value;
      expect(canned).toBe("Thank you for your report. We reviewed it and found no security impact that needs a fix, but the information is useful to us.");
      expect((await b.post(`/desk/reports/${id}/transitions`, { to: "informative", reason: "Informative", message: `${canned} We will harden it anyway.` })).statusCode).toBe(303);
      expect(await reportState(id)).toBe("informative");
      const last = await shield.database.db.selectFrom("messages").select("body").where("report_id", "=", id).orderBy("id", "desc").executeTakeFirstOrThrow();
      expect(last.body).toBe(`${canned} We will harden it anyway.`);
    });

    it("refuses a malformed CVSS vector with the error next to the field and the input kept", async () => {
      const id = await submit({ title: "Actions: bad vector" });
      const b = await signedIn(triager);
      await b.get(`/desk/reports/${id}`);
      const response = await b.post(`/desk/reports/${id}/assessment`, { cvss31Vector: "CVSS:3.1/AV:Q", cvss40Vector: "", severity: "", cwe: "", asset: "", affectedVersions: "" });
      expect(response.statusCode).toBe(400);
      const doc = parseHtml(response.body);
      const input = doc.querySelector("#cvss31-vector") as HTMLInputElement;
      expect(input.value).toBe("CVSS:3.1/AV:Q");
      expect(input.getAttribute("aria-invalid")).toBe("true");
      expect(textOf(doc.querySelector("#cvss31-vector-error"))).toMatch(/AV/);
      expect(await reportState(id)).toBe("new");
    });

    it("shows an illegal transition as an error on the page (409)", async () => {
      const id = await submit({ title: "Actions: illegal" });
      const b = await signedIn(triager);
      await b.get(`/desk/reports/${id}`);
      const response = await b.post(`/desk/reports/${id}/transitions`, { to: "triaged", reason: "too early" });
      expect(response.statusCode).toBe(409);
      const doc = parseHtml(response.body);
      expect(textOf(doc.querySelector(".error-summary"))).toBe("A report cannot go from new to triaged: from new it can only go to acknowledged, duplicate, informative, not_applicable, spam, routed_to_support.");
      expect(textOf(doc.querySelector("#form-transition-triaged"))).toBe("");
    });

    it("marks a report as a duplicate of a suggested similar report", async () => {
      const original = await submit({ title: "Actions: CSRF on the password change form", description: "The password change form has no CSRF token: quokkaword." });
      const copy = await submit({ title: "Actions: CSRF in password change", description: "No CSRF token on the password change form, quokkaword." });
      const b = await signedIn(triager);
      const page = parseHtml((await b.get(`/desk/reports/${copy}`)).body);
      const suggestions = [...page.querySelectorAll("#form-transition-duplicate input[name=duplicateOf]")].map((i) => (i as HTMLInputElement).value);
      expect(suggestions[0]).toBe(String(original));
      const refused = await b.post(`/desk/reports/${copy}/transitions`, { to: "duplicate", reason: "dup", duplicateOf: "other", duplicateOfOther: "" });
      expect(refused.statusCode).toBe(400);
      expect(textOf(parseHtml(refused.body).querySelector("#duplicate-other-error"))).toBe("is required: the number of the earlier report");
      const done = await b.post(`/desk/reports/${copy}/transitions`, { to: "duplicate", reason: "dup", duplicateOf: String(original), message: "Known issue." });
      expect(done.statusCode).toBe(303);
      const row = await shield.database.db.selectFrom("reports").select(["state", "duplicate_of"]).where("id", "=", copy).executeTakeFirstOrThrow();
      expect(row).toEqual({ state: "duplicate", duplicate_of: original });
    });

    it("asks for information, routes to support, records the bounty and upstreams", async () => {
      const b = await signedIn(admin);
      const asked = await submit({ title: "Actions: needs info" });
      await b.get(`/desk/reports/${asked}`);
      await b.post(`/desk/reports/${asked}/transitions`, { to: "acknowledged", reason: "ok" });
      const noMessage = await b.post(`/desk/reports/${asked}/transitions`, { to: "needs_info", reason: "ask", message: "" });
      expect(noMessage.statusCode).toBe(400);
      expect(textOf(parseHtml(noMessage.body).querySelector("#needs_info-message-error"))).toBe("is required: the reporter is asked this");
      expect((await b.post(`/desk/reports/${asked}/transitions`, { to: "needs_info", reason: "ask", message: "Which version do you use?" })).statusCode).toBe(303);
      expect(await reportState(asked)).toBe("needs_info");

      const support = await submit({ title: "Actions: how do I reset my password" });
      await b.get(`/desk/reports/${support}`);
      expect((await b.post(`/desk/reports/${support}/transitions`, { to: "routed_to_support", reason: "support" })).statusCode).toBe(303);
      expect(await reportState(support)).toBe("routed_to_support");

      // Arrived encrypted: a decrypted copy for support only with the box ticked, on the server too.
      const encrypted = await submit({ title: "Actions: encrypted support question" });
      await shield.database.db.updateTable("reports").set({ browser_encrypted: 1 }).where("id", "=", encrypted).execute();
      await b.get(`/desk/reports/${encrypted}`);
      const plainRoute = await b.post(`/desk/reports/${encrypted}/transitions`, { to: "routed_to_support", reason: "support" });
      expect(plainRoute.statusCode).toBe(409);
      const unconfirmed = await b.post(`/desk/reports/${encrypted}/transitions`, { to: "routed_to_support", reason: "support", supportHandover: "forward_decrypted", message: "" });
      expect(unconfirmed.statusCode).toBe(400);
      expect(textOf(parseHtml(unconfirmed.body).querySelector("#support-decrypted-confirm-error"))).toBe("tick to confirm that support gets the report in clear text");
      expect(await reportState(encrypted)).toBe("new");

      const bountied = await submit({ title: "Actions: bounty" });
      await b.get(`/desk/reports/${bountied}`);
      await b.post(`/desk/reports/${bountied}/assessment`, { severity: "medium", cvss31Vector: "", cvss40Vector: "", cwe: "", asset: "", affectedVersions: "" });
      const suggestedPage = parseHtml((await b.get(`/desk/reports/${bountied}`)).body);
      expect(suggestedPage.querySelector("#bounty-amount")?.getAttribute("placeholder")).toBe("500");
      expect(textOf(suggestedPage.querySelector("#bounty p.hint"))).toBe("The bounty table suggests 500 USD for medium severity.");
      const future = await b.post(`/desk/reports/${bountied}/bounty`, { eligible: "yes", reason: "", amount: "500", awardedAt: "2027-01-01", paidAt: "" });
      expect(future.statusCode).toBe(400);
      expect(textOf(parseHtml(future.body).querySelector("#bounty-awarded-error"))).toBe("must not be in the future");
      const badAmount = await b.post(`/desk/reports/${bountied}/bounty`, { eligible: "yes", reason: "", amount: "lots", awardedAt: "", paidAt: "" });
      expect(badAmount.statusCode).toBe(400);
      expect(textOf(parseHtml(badAmount.body).querySelector("#bounty-amount-error"))).toBe("must be a number, e.g. 500 or 250.50");
      const saved = await b.post(`/desk/reports/${bountied}/bounty`, { eligible: "yes", reason: "Valid", amount: "500", awardedAt: "2026-03-02", paidAt: "" });
      expect(textOf(parseHtml(saved.body).querySelector(".error-summary"))).toBe("");
      expect(saved.statusCode).toBe(303);
      const bounty = await shield.database.db.selectFrom("reports").select(["bounty_eligible", "bounty_amount", "bounty_awarded_at"]).where("id", "=", bountied).executeTakeFirstOrThrow();
      expect(bounty).toEqual({ bounty_eligible: 1, bounty_amount: 500, bounty_awarded_at: "2026-03-02T00:00:00.000Z" });

      const added = await b.post(`/desk/reports/${bountied}/upstreams`, { project: "Rails", contact: "security@rubyonrails.org", reference: "", status: "notified", embargoUntil: "2026-04-01" });
      expect(added.statusCode).toBe(303);
      const upstream = await shield.database.db.selectFrom("report_upstreams").selectAll().where("report_id", "=", bountied).executeTakeFirstOrThrow();
      expect(upstream).toMatchObject({ project: "Rails", status: "notified", embargo_until: "2026-04-01" });
      await b.get(`/desk/reports/${bountied}`);
      const badRef = await b.post(`/desk/reports/${bountied}/upstreams/${upstream.id}`, { project: "Rails", contact: "", reference: "javascript:alert(1)", status: "fixed", embargoUntil: "" });
      expect(badRef.statusCode).toBe(400);
      expect(parseHtml(badRef.body).querySelector(`#upstream-${upstream.id}-reference-error`)).not.toBeNull();
      expect((await b.post(`/desk/reports/${bountied}/upstreams/${upstream.id}`, { project: "Rails", contact: "", reference: "GHSA-xxxx", status: "fixed", embargoUntil: "" })).statusCode).toBe(303);
      expect((await shield.database.db.selectFrom("report_upstreams").select("status").where("id", "=", upstream.id).executeTakeFirstOrThrow()).status).toBe("fixed");
      expect((await b.post(`/desk/reports/${bountied}/upstreams/${upstream.id}/delete`, {})).statusCode).toBe(303);
      expect(await shield.database.db.selectFrom("report_upstreams").selectAll().where("report_id", "=", bountied).execute()).toEqual([]);
      const trail = await shield.database.db.selectFrom("audit_events").select("action").where("subject_id", "=", String(bountied)).execute();
      expect(trail.map((t) => t.action)).toEqual(expect.arrayContaining(["report.triage_updated", "report.upstream_added", "report.upstream_changed", "report.upstream_removed"]));
    });
  });

  describe("viewers and forged forms", () => {
    it("shows a viewer no action forms, and refuses each action a viewer posts with 403", async () => {
      const id = await submit({ title: "Viewer: read only" });
      const b = await signedIn(viewer);
      const doc = parseHtml((await b.get(`/desk/reports/${id}`)).body);
      expect(doc.querySelectorAll("main form[method=post]:not(.sign-out)")).toHaveLength(0);
      expect(textOf(doc.querySelector("#read-only"))).toBe("Your role (viewer) reads reports; changing one needs a triager or an admin.");
      const posts: Array<[string, Record<string, string>]> = [
        [`/desk/reports/${id}/messages`, { body: "hi", kind: "reply" }],
        [`/desk/reports/${id}/transitions`, { to: "acknowledged", reason: "x" }],
        [`/desk/reports/${id}/assessment`, { severity: "high" }],
        [`/desk/reports/${id}/owner`, { ownerEmail: triager.member.email }],
        [`/desk/reports/${id}/bounty`, { eligible: "yes" }],
        [`/desk/reports/${id}/upstreams`, { project: "Rails", status: "notified" }],
      ];
      for (const [url, fields] of posts) {
        await b.get(`/desk/reports/${id}`);
        const response = await b.post(url, fields);
        expect(response.statusCode, url).toBe(403);
        expect(textOf(parseHtml(response.body).querySelector("h1"))).toBe("Not allowed");
      }
      expect(await reportState(id)).toBe("new");
      expect(await shield.database.db.selectFrom("messages").selectAll().where("report_id", "=", id).execute()).toEqual([]);
    });

    it("refuses a form without a valid CSRF token, even from a triager", async () => {
      const id = await submit({ title: "CSRF: forged" });
      const b = await signedIn(triager);
      await b.get(`/desk/reports/${id}`);
      const missing = await b.post(`/desk/reports/${id}/transitions`, { to: "acknowledged", reason: "x" }, { csrf: null });
      expect(missing.statusCode).toBe(403);
      expect(textOf(parseHtml(missing.body).querySelector("h1"))).toBe("Form expired");
      const wrong = await b.post(`/desk/reports/${id}/transitions`, { to: "acknowledged", reason: "x" }, { csrf: "forged-token" });
      expect(wrong.statusCode).toBe(403);
      expect(await reportState(id)).toBe("new");
    });

    it("refuses a triager's session cookie sent with someone else's CSRF cookie and token, and stores no note", async () => {
      const id = await submit({ title: "CSRF: planted pair" });
      const b = await signedIn(triager);
      await b.get(`/desk/reports/${id}`);
      // The attacker's own pair, fetched from the sign-in page with no session.
      const attacker = new TestBrowser(shield, "203.0.113.66");
      await attacker.get("/login");
      const csrfCookie = [...attacker.cookies.keys()].find((name) => name.endsWith("csrf"))!;
      expect(csrfCookie).toBe("__Host-shield_csrf");
      b.cookies.set(csrfCookie, attacker.cookies.get(csrfCookie)!);
      const planted = await b.post(`/desk/reports/${id}/messages`, { body: "Planted by the attacker.", kind: "note" }, { csrf: attacker.csrf() });
      expect(planted.statusCode).toBe(403);
      expect(textOf(parseHtml(planted.body).querySelector("h1"))).toBe("Form expired");
      // Another member's own valid pair does not pass with this triager's session either.
      const other = await signedIn(triager);
      await other.get(`/desk/reports/${id}`);
      b.cookies.set(csrfCookie, other.cookies.get(csrfCookie)!);
      expect((await b.post(`/desk/reports/${id}/messages`, { body: "From another session.", kind: "note" }, { csrf: other.csrf() })).statusCode).toBe(403);
      expect(await shield.database.db.selectFrom("messages").selectAll().where("report_id", "=", id).execute()).toEqual([]);
    });

    it("refuses a valid token sent from another site (Origin or Sec-Fetch-Site), and takes it from this site or a client without those headers", async () => {
      const id = await submit({ title: "CSRF: cross-site" });
      const b = await signedIn(triager);
      await b.get(`/desk/reports/${id}`);
      const token = b.csrf();
      const note = (body: string, headers: Record<string, string>) => b.post(`/desk/reports/${id}/messages`, { body, kind: "note" }, { csrf: token, headers });
      const refusedHeaders: Array<Record<string, string>> = [{ origin: "http://evil.example" }, { origin: "https://security.example.test.evil.example" }, { "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }, { origin: "null", "sec-fetch-site": "cross-site" }];
      for (const headers of refusedHeaders) {
        const refused = await note(`refused ${JSON.stringify(headers)}`, headers);
        expect(refused.statusCode, JSON.stringify(headers)).toBe(403);
        expect(textOf(parseHtml(refused.body).querySelector("h1"))).toBe("Form expired");
      }
      const takenHeaders: Array<Record<string, string>> = [{ origin: "https://security.example.test", "sec-fetch-site": "same-origin" }, { origin: "null", "sec-fetch-site": "same-origin" }, { "sec-fetch-site": "none" }, {}];
      for (const headers of takenHeaders) {
        expect((await note(`taken ${JSON.stringify(headers)}`, headers)).statusCode, JSON.stringify(headers)).toBe(303);
      }
      const bodies = (await shield.database.db.selectFrom("messages").select("body").where("report_id", "=", id).execute()).map((m) => m.body);
      expect(bodies.filter((body) => body.startsWith("refused"))).toEqual([]);
      expect(bodies.filter((body) => body.startsWith("taken"))).toHaveLength(4);
    });
  });
});
