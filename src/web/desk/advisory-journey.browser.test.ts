import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, fillReportForm, launchChromium, serveTestShield, wcagViolations, watchPage, type PageIncidents, type ServedShield } from "../../../test/browser.js";
import { DAY, ShiftedClock } from "../../../test/clock.js";
import { buildReportInput } from "../../../test/factories.js";
import { mailsStartingWith, recipientOf } from "../../../test/outbox.js";
import type { EnrolledMember } from "../../../test/sign-in.js";
import { addBrowserMember, signInInBrowser } from "../../../test/team-browser.js";
import type { SubmitReportBody } from "../../modules/intake/index.js";
import { DEFAULT_SETTINGS, updateSetting } from "../../modules/settings/index.js";
import { systemClock } from "../../shared/clock.js";

/** The pages a suite opens, each in its own context at desk width; what they did is checked once the suite is over. */
class WatchedPages {
  private readonly contexts: BrowserContext[] = [];
  private readonly incidents: PageIncidents[] = [];

  async open(browser: Browser, options: Parameters<Browser["newContext"]>[0] = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    this.contexts.push(context);
    const page = await context.newPage();
    this.incidents.push(watchPage(page));
    return page;
  }

  /** Closes the pages, the browser and Shield, then checks that no page met a CSP violation, a script error or a dialog. */
  async closeAll(browser: Browser | undefined, served: ServedShield | undefined): Promise<void> {
    for (const context of this.contexts) await context.close();
    await browser?.close();
    await served?.close();
    for (const seen of this.incidents) {
      expect(seen.consoleErrors.filter((t) => /Content Security Policy/i.test(t))).toEqual([]);
      expect(seen.pageErrors).toEqual([]);
      expect(seen.dialogs).toEqual([]);
    }
  }
}

/** Fills the "Add a product" group of the advisory form: Basecamp by Example Inc., affected from 4.0.0, fixed in 4.2.1. */
async function addBasecampFixedIn421(page: Page): Promise<void> {
  const product = page.getByRole("group", { name: "Add a product" });
  await product.getByLabel("Vendor").fill("Example Inc.");
  await product.getByLabel("Product", { exact: true }).fill("Basecamp");
  await product.getByLabel("Fixed in version").fill("4.2.1");
  const range = product.getByRole("group", { name: "Add a version range" });
  await range.getByLabel("Introduced in (empty: every earlier version)").fill("4.0.0");
  await range.getByLabel("Fixed in (not affected)").fill("4.2.1");
}

describeInBrowser("an advisory from a resolved report to the public, in Chromium", () => {
  let served: ServedShield;
  let browser: Browser;
  let writer: EnrolledMember;
  let offlineWriter: EnrolledMember;
  const pages = new WatchedPages();

  const api = async (member: EnrolledMember, method: string, path: string, body?: object) => {
    const response = await fetch(`${served.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${member.apiToken}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    expect(response.status, `${method} ${path}`).toBeLessThan(300);
    return response.json() as Promise<Record<string, unknown>>;
  };
  /** A report acknowledged and triaged with CVSS and CWE through the API, as a colleague did earlier. */
  const triagedReport = async (overrides: Partial<SubmitReportBody>) => {
    const response = await fetch(`${served.baseUrl}/api/v1/reports`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(buildReportInput(overrides)) });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: number };
    await api(writer, "POST", `/api/v1/reports/${id}/transitions`, { to: "acknowledged", reason: "read it" });
    await api(writer, "PATCH", `/api/v1/reports/${id}`, { cvss31Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", cwe: "CWE-79" });
    await api(writer, "POST", `/api/v1/reports/${id}/transitions`, { to: "triaged", reason: "reproduced" });
    return id;
  };

  const signedInPage = async (who: EnrolledMember, options: Parameters<Browser["newContext"]>[0] = {}): Promise<Page> => {
    const page = await pages.open(browser, options);
    await signInInBrowser(page, served.baseUrl, who);
    return page;
  };

  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    writer = await addBrowserMember(served, "triager");
    offlineWriter = await addBrowserMember(served, "triager");
    // The CNA's identity, so that the CVE record is exported too.
    await updateSetting(served.shield.settings, systemClock, { kind: "cli" }, "advisories", { ...DEFAULT_SETTINGS.advisories, cveOrgId: "b3476cb9-2e3d-41a6-98d0-0f47421a65b6", cveShortName: "example" });
    browser = await launchChromium();
  });
  afterAll(async () => pages.closeAll(browser, served));

  it("writes the advisory from a resolved report, is held back by a report not fixed, fixes it, previews and publishes; the public page, feed, exports and thanks page show it", { timeout: 120_000 }, async () => {
    const resolvedId = await triagedReport({ title: "Stored XSS in comments", credit: { name: "Ada Finder", url: "https://ada.example" } });
    await api(writer, "POST", `/api/v1/reports/${resolvedId}/transitions`, { to: "resolved", reason: "fixed in 4.2.1" });
    const openId = await triagedReport({ title: "Stored XSS in replies" });

    const page = await signedInPage(writer);
    await page.goto(`${served.baseUrl}/desk/reports/${resolvedId}`);
    await page.getByRole("link", { name: "Create an advisory from this report" }).click();
    await page.waitForURL(`${served.baseUrl}/desk/advisories/new?report=${resolvedId}`);
    expect(await page.getByLabel("Title").inputValue()).toBe("Stored XSS in comments");
    expect(await page.getByLabel("CWE (e.g. CWE-79)").inputValue()).toBe("CWE-79");
    expect(await page.locator("#reporter-credits").textContent()).toContain("Ada Finder");

    await page.getByLabel("Linked reports").fill(`${resolvedId}, ${openId}`);
    await page.getByLabel("Summary (Markdown)").fill("A comment could run a **script** in the reader's browser.\n\nUpdate to 4.2.1.");
    await page.getByLabel("CVE id (optional)").fill("CVE-2026-12345");
    await addBasecampFixedIn421(page);
    const credit = page.getByRole("group", { name: "Add a credit" });
    await credit.getByLabel("Name").fill("Basecamp maintainers");
    await credit.getByLabel("Credit type").selectOption("remediation developer");
    await page.getByRole("button", { name: "Save the draft" }).click();
    await page.waitForURL(/\/desk\/advisories\/SEC-\d{4}-\d{3}\?done=created$/);
    const advisoryId = /\/desk\/advisories\/(SEC-\d{4}-\d{3})/.exec(page.url())![1]!;
    expect(await page.locator("#advisory-state").textContent()).toBe("Draft");
    expect(await wcagViolations(page)).toEqual([]);

    // The guard: the second report is only triaged.
    expect(await page.locator("#guard-blockers").textContent()).toContain(`Report #${openId} is Triaged, not fixed`);
    await page.getByRole("button", { name: "Publish now" }).click();
    expect(await page.locator("#problem").textContent()).toBe("Not published: the disclosure guard holds this advisory back.");
    expect(await page.locator("#guard-blockers li").allTextContents()).toEqual([`#${openId}: Report #${openId} is Triaged, not fixed: mark it Resolved once the fix is released.`]);
    expect(await wcagViolations(page)).toEqual([]);
    expect((await (await fetch(`${served.baseUrl}/security/advisories/${advisoryId}`)).status)).toBe(404);

    // The member fixes it on the report's page.
    await page.getByRole("link", { name: `#${openId}`, exact: true }).first().click();
    await page.waitForURL(`${served.baseUrl}/desk/reports/${openId}`);
    await page.locator("summary", { hasText: "Mark as resolved" }).click();
    await page.getByRole("button", { name: "Mark as resolved", exact: true }).click();
    await page.waitForURL(/done=transition/);
    expect(await page.locator("#report-state").textContent()).toBe("Resolved");

    await page.goto(`${served.baseUrl}/desk/advisories/${advisoryId}`);
    expect(await page.locator("#guard-status").textContent()).toContain("Every linked report is fixed");
    await page.getByLabel("Workarounds (Markdown, optional)").fill("Turn off comments: *Settings → Comments*.");
    await page.getByRole("button", { name: "Preview" }).click();
    expect(await page.locator("#preview-workarounds em").textContent()).toBe("Settings → Comments");
    expect(await page.locator("#preview-summary strong").textContent()).toBe("script");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForURL(/done=saved/);

    await page.getByRole("link", { name: "Preview as the public will see it" }).click();
    expect(await page.locator("#preview-banner").textContent()).toContain("the public cannot see it until it is published");
    expect(await page.locator("main").textContent()).toContain("Ada Finder (finder)");
    expect(await page.locator("main").textContent()).toContain("Basecamp maintainers (remediation developer)");
    expect(await wcagViolations(page)).toEqual([]);
    await page.getByRole("link", { name: "Back to the advisory on the desk" }).click();

    await page.getByRole("button", { name: "Publish now" }).click();
    await page.waitForURL(/done=published/);
    expect(await page.locator("#advisory-state").textContent()).toBe("Published");

    // The public finds it: page, feed, exports; the reporters are mailed and the finder is thanked.
    await page.getByRole("link", { name: "public page" }).click();
    expect(await page.locator("h1").textContent()).toBe("Stored XSS in comments");
    expect(await page.locator("main").textContent()).toContain("Ada Finder (finder)");
    expect(await wcagViolations(page)).toEqual([]);
    const feed = await (await fetch(`${served.baseUrl}/security/advisories.atom`)).text();
    expect(feed).toContain(`${served.baseUrl}/security/advisories/${advisoryId}`);
    for (const format of ["osv", "csaf", "cve"]) {
      const response = await fetch(`${served.baseUrl}/security/advisories/${advisoryId}/${format}.json`);
      expect(response.status, format).toBe(200);
      expect(await response.text()).toContain(format === "cve" ? "CVE-2026-12345" : advisoryId);
    }
    for (const id of [resolvedId, openId]) expect((await api(writer, "GET", `/api/v1/reports/${id}`)).state).toBe("disclosed");
    await served.shield.worker.drain();
    expect(mailsStartingWith(served, `update-${resolvedId}-`).some((m) => m.includes(`/security/advisories/${advisoryId}`))).toBe(true);
    await page.goto(`${served.baseUrl}/security/thanks`);
    const thanked = page.getByRole("link", { name: "Ada Finder" });
    expect(await thanked.getAttribute("href")).toBe("https://ada.example");

    // The program's figures, once an admin opts in, pass the same accessibility checks.
    await updateSetting(served.shield.settings, systemClock, { kind: "cli" }, "publicStats", true);
    await page.goto(`${served.baseUrl}/security/stats`);
    expect(await page.locator("h1").textContent()).toBe("Program statistics");
    expect(await page.locator("#first-response tbody tr").count()).toBe(3);
    expect(await wcagViolations(page)).toEqual([]);
  });

  it("works without JavaScript: a draft is written, refused fields are shown, previewed, saved and scheduled", { timeout: 90_000 }, async () => {
    const reportId = await triagedReport({ title: "CSRF on the settings page" });
    const page = await signedInPage(offlineWriter, { javaScriptEnabled: false });
    await page.goto(`${served.baseUrl}/desk/reports/${reportId}`);
    await page.getByRole("link", { name: "Create an advisory from this report" }).click();
    await page.getByLabel("Summary (Markdown)").fill("Settings could be changed from *another site*.");
    const product = page.getByRole("group", { name: "Add a product" });
    await product.getByLabel("Vendor").fill("Example Inc.");
    await product.getByLabel("Product", { exact: true }).fill("Basecamp");
    // No version range: refused next to the product, the input kept.
    await page.getByRole("button", { name: "Save the draft" }).click();
    expect(await page.locator("#problem").textContent()).toBe("The advisory is not saved: correct the fields marked below.");
    expect(await page.locator("#adv-products-0-ranges-error").textContent()).toBe("needs at least one version range");
    expect(await page.getByLabel("Summary (Markdown)").inputValue()).toBe("Settings could be changed from *another site*.");

    await page.getByRole("group", { name: "Product 1" }).getByRole("group", { name: "Add a version range" }).getByLabel("Last affected (when there is no fix)").fill("4.3.0");
    await page.getByRole("button", { name: "Preview" }).click();
    expect(await page.locator("#preview-summary em").textContent()).toBe("another site");
    await page.getByRole("button", { name: "Save the draft" }).click();
    await page.waitForURL(/done=created$/);
    const advisoryId = /\/desk\/advisories\/(SEC-\d{4}-\d{3})/.exec(page.url())![1]!;
    expect(await page.locator("#guard-blockers").textContent()).toContain(`Report #${reportId} is Triaged, not fixed`);

    await api(offlineWriter, "POST", `/api/v1/reports/${reportId}/transitions`, { to: "resolved", reason: "fixed" });
    await page.reload();
    await page.getByLabel("Publish at (UTC)").fill("2030-01-02T10:30");
    await page.getByRole("button", { name: "Schedule publication" }).click();
    await page.waitForURL(/done=scheduled$/);
    expect(await page.locator("#advisory-state").textContent()).toBe("Scheduled");
    expect((await api(offlineWriter, "GET", `/api/v1/advisories/${advisoryId}`)).scheduledAt).toBe("2030-01-02T10:30:00.000Z");
    await page.getByRole("button", { name: "Cancel the scheduled publication" }).click();
    await page.waitForURL(/done=unscheduled$/);
    expect(await page.locator("#advisory-state").textContent()).toBe("Draft");
  });
});

describeInBrowser("a report from arrival to disclosure under an upstream embargo, in Chromium", () => {
  let served: ServedShield;
  let browser: Browser;
  let triager: EnrolledMember;
  // Shield's days pass at once; the browser's cookies and the authenticator follow it.
  const clock = new ShiftedClock();
  const pages = new WatchedPages();
  const newContextPage = () => pages.open(browser);
  const publicStatus = async (path: string) => (await fetch(`${served.baseUrl}${path}`)).status;

  beforeAll(async () => {
    served = await serveTestShield("sqlite", { clock });
    triager = await addBrowserMember(served, "triager");
    browser = await launchChromium();
  });
  afterAll(async () => pages.closeAll(browser, served));

  it("triages a report with CVSS and CWE, records an upstream embargo, is refused by the guard, resolves it, lets the embargo pass, schedules, and the job publishes: the reporter is mailed, the public page, feed entry and thanks appear", { timeout: 180_000 }, async () => {
    const title = "Stored XSS in the comment preview";
    const embargoDay = new Date(clock.now().getTime() + 3 * DAY).toISOString().slice(0, 10);

    // 1. A reporter sends the report and, on the tracking page, asks to be credited with a link.
    const reporter = await newContextPage();
    await reporter.goto(`${served.baseUrl}/security/report`);
    await fillReportForm(reporter, { title, description: "A comment's preview runs <script> from its text.", name: "Ada Researcher", email: "ada@example.org", creditName: "Ada Finder" });
    await reporter.getByRole("button", { name: "Send report" }).click();
    await reporter.waitForURL(`${served.baseUrl}/security/report/received`);
    const trackingUrl = (await reporter.getByRole("link", { name: /\/security\/reports\// }).getAttribute("href"))!;
    await reporter.goto(trackingUrl);
    await reporter.getByLabel("Link to credit").fill("https://ada.example");
    await reporter.getByRole("button", { name: "Save credit" }).click();
    await reporter.waitForURL(/done=credit/);
    const reportId = Number(/^Report #(\d+):/.exec((await reporter.getByRole("heading", { level: 1 }).textContent())!)![1]);

    // 2. The triager finds it in the queue, acknowledges it and triages it with CVSS and CWE.
    const desk = await newContextPage();
    await signInInBrowser(desk, served.baseUrl, triager, "/desk", clock);
    await desk.getByRole("link", { name: `#${reportId} ${title}` }).click();
    await desk.waitForURL(`${served.baseUrl}/desk/reports/${reportId}`);
    await desk.getByRole("button", { name: "Acknowledge", exact: true }).click();
    await desk.waitForURL(/done=transition/);
    expect(await desk.locator("#report-state").textContent()).toBe("Acknowledged");
    await desk.getByLabel("CVSS 3.1 vector").fill("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N");
    await desk.getByLabel(/^Weakness \(CWE/).fill("CWE-79");
    await desk.getByLabel("Also mark the report as triaged").check();
    await desk.getByRole("button", { name: "Save assessment" }).click();
    await desk.waitForURL(/done=/);
    expect(await desk.locator("#report-state").textContent()).toBe("Triaged");

    // 3. Rails holds the fix under embargo until embargoDay.
    await desk.locator("summary", { hasText: "Add an upstream project" }).click();
    const upstream = desk.locator("#form-upstream-new");
    await upstream.getByLabel("Project").fill("Rails");
    await upstream.getByLabel("Status").selectOption({ label: "Notified" });
    await upstream.getByLabel("Embargo until").fill(embargoDay);
    await upstream.getByRole("button", { name: "Add upstream" }).click();
    await desk.waitForURL(/done=/);
    expect(await desk.locator("#upstreams").textContent()).toContain("Rails");

    // 4. The advisory is written; the guard refuses publication: not fixed, and under embargo.
    await desk.getByRole("link", { name: "Create an advisory from this report" }).click();
    expect(await desk.getByLabel("CWE (e.g. CWE-79)").inputValue()).toBe("CWE-79");
    await desk.getByLabel("Summary (Markdown)").fill("A comment's preview could run a **script** in the reader's browser.\n\nUpdate to 4.2.1.");
    await addBasecampFixedIn421(desk);
    await desk.getByRole("button", { name: "Save the draft" }).click();
    await desk.waitForURL(/\/desk\/advisories\/SEC-\d{4}-\d{3}\?done=created$/);
    const advisoryId = /\/desk\/advisories\/(SEC-\d{4}-\d{3})/.exec(desk.url())![1]!;
    const advisoryUrl = desk.url().replace(/\?.*$/, "");
    await desk.getByRole("button", { name: "Publish now" }).click();
    expect(await desk.locator("#problem").textContent()).toBe("Not published: the disclosure guard holds this advisory back.");
    expect(await desk.locator("#guard-blockers li").allTextContents()).toEqual([
      `#${reportId}: Report #${reportId} is Triaged, not fixed: mark it Resolved once the fix is released.`,
      `#${reportId}: Report #${reportId} is under an upstream embargo until ${embargoDay}.`,
    ]);
    expect(await publicStatus(`/security/advisories/${advisoryId}`)).toBe(404);

    // 5. The fix is released: the report is resolved; the embargo still holds the advisory back, also for a time before it ends.
    await desk.getByRole("link", { name: `#${reportId}`, exact: true }).first().click();
    await desk.locator("summary", { hasText: "Mark as resolved" }).click();
    await desk.getByRole("button", { name: "Mark as resolved", exact: true }).click();
    await desk.waitForURL(/done=transition/);
    expect(await desk.locator("#report-state").textContent()).toBe("Resolved");
    await desk.goto(advisoryUrl);
    expect(await desk.locator("#guard-blockers li").allTextContents()).toEqual([`#${reportId}: Report #${reportId} is under an upstream embargo until ${embargoDay}.`]);
    const dayBefore = new Date(Date.parse(`${embargoDay}T00:00:00Z`) - DAY).toISOString().slice(0, 10);
    await desk.getByLabel("Publish at (UTC)").fill(`${dayBefore}T12:00`);
    await desk.getByRole("button", { name: "Schedule publication" }).click();
    expect(await desk.locator("#problem").textContent()).toContain("disclosure guard");
    expect(await desk.locator("#advisory-state").textContent()).toBe("Draft");

    // 6. The embargo passes. On that day the triager signs in again and schedules publication for 09:20 (UTC).
    clock.set(`${embargoDay}T09:00:00Z`);
    const later = await newContextPage();
    await signInInBrowser(later, served.baseUrl, triager, "/desk", clock);
    await later.getByRole("link", { name: "Advisories", exact: true }).click();
    await later.getByRole("link", { name: advisoryId }).first().click();
    await later.waitForURL(advisoryUrl);
    expect(await later.locator("#guard-status").textContent()).toContain("Every linked report is fixed and no upstream embargo holds");
    await later.getByLabel("Publish at (UTC)").fill(`${embargoDay}T09:20`);
    await later.getByRole("button", { name: "Schedule publication" }).click();
    await later.waitForURL(/done=scheduled$/);
    expect(await later.locator("#advisory-state").textContent()).toBe("Scheduled");
    await served.shield.worker.drain();
    expect(await publicStatus(`/security/advisories/${advisoryId}`)).toBe(404);
    expect(await (await fetch(`${served.baseUrl}/security/advisories.atom`)).text()).not.toContain(advisoryId);

    // 7. The time comes; the worker's scheduled-publication job publishes it, nobody presses a button.
    clock.set(`${embargoDay}T09:20:05Z`);
    await served.shield.worker.drain();
    await later.reload();
    expect(await later.locator("#advisory-state").textContent()).toBe("Published");
    await later.goto(`${served.baseUrl}/desk/reports/${reportId}`);
    expect(await later.locator("#report-state").textContent()).toBe("Disclosed");

    // 8. The reporter's mail carries the advisory's link, and their tracking page says so.
    await served.shield.worker.drain();
    const publicUrl = `${served.baseUrl}/security/advisories/${advisoryId}`;
    const mail = mailsStartingWith(served, `update-${reportId}-`).find((m) => m.includes(publicUrl));
    expect(mail && recipientOf(mail)).toBe("ada@example.org");
    await reporter.goto(trackingUrl);
    expect(await reporter.locator("p.status").textContent()).toBe("The issue is fixed and a security update has been published.");
    expect(await reporter.locator("main").textContent()).toContain(`The security update for this issue is published as ${advisoryId}: ${publicUrl}`);

    // 9. The public finds it: the list, the page with the credit, the feed's entry and the thanks page.
    const reader = await newContextPage();
    await reader.goto(`${served.baseUrl}/security`);
    await reader.getByRole("navigation", { name: "Security pages" }).getByRole("link", { name: "Advisories" }).click();
    await reader.getByRole("link", { name: `${advisoryId}: ${title}` }).click();
    await reader.waitForURL(publicUrl);
    expect(await reader.locator("h1").textContent()).toBe(title);
    expect(await reader.locator("main").textContent()).toContain("Ada Finder (finder)");
    const feed = await (await fetch(`${served.baseUrl}/security/advisories.atom`)).text();
    const entry = [...feed.matchAll(/<entry>[\s\S]*?<\/entry>/g)].map((m) => m[0]).find((e) => e.includes(`href="${publicUrl}"`));
    expect(entry).toContain(title);
    expect(entry).toContain(`<published>${embargoDay}T09:20:05`);
    await reader.getByRole("navigation", { name: "Security pages" }).getByRole("link", { name: "Thanks" }).click();
    expect(await reader.getByRole("link", { name: "Ada Finder" }).getAttribute("href")).toBe("https://ada.example");
  });
});
