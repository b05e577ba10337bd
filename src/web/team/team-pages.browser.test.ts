import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, launchChromium, serveTestShield, wcagViolations, watchPage, type PageIncidents, type ServedShield } from "../../../test/browser.js";
import { FakeClock } from "../../../test/clock.js";
import { buildReportInput } from "../../../test/factories.js";
import { mailsStartingWith } from "../../../test/outbox.js";
import type { EnrolledMember } from "../../../test/sign-in.js";
import { addBrowserMember, signInInBrowser } from "../../../test/team-browser.js";
import { escalateReport } from "../../modules/reporter-side/index.js";
import type { SubmitReportBody } from "../../modules/intake/index.js";
import { updateSetting } from "../../modules/settings/index.js";

/** The box of an element on the page; it must be shown. */
async function boxOf(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const box = await locator.boundingBox();
  expect(box, `${locator} is shown`).not.toBeNull();
  return box!;
}

/**
 * A box or dot sits right next to its label's text: on the same line, a few pixels apart,
 * not stretched. The text is measured after the input for a label that wraps it.
 */
async function expectNextToLabel(input: Locator): Promise<void> {
  const where = await input.evaluate((el) => {
    const box = el as HTMLInputElement;
    const label = box.labels?.[0];
    if (!label) return null;
    const range = document.createRange();
    if (label.contains(box)) range.setStartAfter(box);
    else range.setStart(label, 0);
    range.setEnd(label, label.childNodes.length);
    const text = [...range.getClientRects()].find((r) => r.width > 0);
    const own = box.getBoundingClientRect();
    return text ? { gap: text.left - own.right, width: own.width, offset: Math.abs(own.top + own.height / 2 - (text.top + text.height / 2)) } : null;
  });
  expect(where, `${input} has a label with text`).not.toBeNull();
  expect(where!.gap, `${input}: gap to its label`).toBeGreaterThanOrEqual(0);
  expect(where!.gap, `${input}: gap to its label`).toBeLessThan(16);
  expect(where!.width, `${input}: not stretched`).toBeLessThan(40);
  expect(where!.offset, `${input}: on its label's line`).toBeLessThan(10);
}

describeInBrowser("the team's pages in Chromium", () => {
  let served: ServedShield;
  let browser: Browser;
  let admin: EnrolledMember;
  let triager: EnrolledMember;
  let offline: EnrolledMember;
  /** One signed-in browser per member: a member signs in once per 30-second step. */
  let asAdmin: BrowserContext;
  let asTriager: BrowserContext;
  const incidents: PageIncidents[] = [];

  const submit = async (overrides: Partial<SubmitReportBody>): Promise<{ id: number; trackingUrl: string }> => {
    const response = await fetch(`${served.baseUrl}/api/v1/reports`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(buildReportInput(overrides)) });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: number; trackingUrl: string };
  };

  const signedInContext = async (who: EnrolledMember, options: Parameters<Browser["newContext"]>[0] = {}) => {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    incidents.push(watchPage(page));
    await signInInBrowser(page, served.baseUrl, who);
    await page.close();
    return context;
  };

  const openPage = async (context: BrowserContext) => {
    const page = await context.newPage();
    incidents.push(watchPage(page));
    return page;
  };

  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    admin = await addBrowserMember(served, "admin");
    triager = await addBrowserMember(served, "triager");
    offline = await addBrowserMember(served, "admin");
    browser = await launchChromium();
    asAdmin = await signedInContext(admin, { viewport: { width: 1280, height: 800 } });
    asTriager = await signedInContext(triager, { viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await browser?.close();
    await served?.close();
    // No page broke its CSP (Chromium reports each violation on the console) or threw.
    for (const seen of incidents) {
      expect(seen.consoleErrors.filter((t) => /Content Security Policy/i.test(t))).toEqual([]);
      expect(seen.pageErrors).toEqual([]);
    }
  });

  it("opens the desk page from the link in a team mail, with times in the settings' time zone", async () => {
    await updateSetting(served.shield.settings, { now: () => new Date() }, { kind: "cli" }, "timeZone", "Europe/Berlin");
    const { id } = await submit({ channel: "vulnerability", title: "Mail: stored XSS in the wiki" });
    await served.shield.worker.drain();
    const mail = mailsStartingWith(served, `team-report_received-${id}-`)[0]!;
    const link = /^Open the report: (\S+)$/m.exec(mail)?.[1];
    expect(link).toBe(`${served.baseUrl}/desk/reports/${id}`);
    expect(mail).toMatch(/^Received: \w{3} \d{1,2} \w{3} \d{4}, \d{2}:\d{2} CES?T \(Europe\/Berlin\)$/m);

    const page = await openPage(asTriager);
    const response = await page.goto(link!);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-type"]).toMatch(/^text\/html/);
    expect(await page.locator("h1 .report-title").textContent()).toBe("Mail: stored XSS in the wiki");
    await page.close();
    await updateSetting(served.shield.settings, { now: () => new Date() }, { kind: "cli" }, "timeZone", "UTC");
  });

  it("puts boxes and dots next to their labels, tells a note from a reply, and changes the state only when asked", { timeout: 60_000 }, async () => {
    await (await openPage(asTriager)).close();
    const { id } = await submit({ channel: "vulnerability", title: "Actions: open redirect after login" });
    await submit({ channel: "vulnerability", title: "Actions: open redirect after login again" });
    const page = await openPage(asTriager);
    await page.goto(`${served.baseUrl}/desk/reports/${id}`);
    await page.getByRole("button", { name: "Acknowledge", exact: true }).click();
    await page.waitForURL(/done=transition/);
    expect(await page.getByRole("status").textContent()).toBe("The report is now Acknowledged.");

    const markTriaged = page.getByLabel("Also mark the report as triaged");
    expect(await markTriaged.isChecked()).toBe(false);
    await expectNextToLabel(markTriaged);
    await page.locator("summary", { hasText: "Close as duplicate" }).click();
    for (const radio of await page.locator("input[type=radio][name=duplicateOf]").all()) await expectNextToLabel(radio);

    // Saving the assessment alone leaves the state; ticking the box is the explicit move, and the page says so.
    await page.getByLabel("Affected asset").fill("www.example.com");
    await page.getByRole("button", { name: "Save assessment" }).click();
    await page.waitForURL(/done=assessment#/);
    expect(await page.getByRole("status").textContent()).toBe("The assessment is saved; the report's state is unchanged.");
    expect(await page.locator("#report-state").textContent()).toBe("Acknowledged");
    await page.getByLabel("Severity", { exact: true }).selectOption("high");
    await page.getByLabel("Also mark the report as triaged").check();
    await page.getByRole("button", { name: "Save assessment" }).click();
    await page.waitForURL(/done=assessment-triaged/);
    expect(await page.getByRole("status").textContent()).toBe("The assessment is saved and the report is marked Triaged.");
    expect(await page.locator("#report-state").textContent()).toBe("Triaged");

    // Before sending: two different buttons, the note one looking like a note.
    const sendReply = page.getByRole("button", { name: "Send to the reporter" });
    const saveNote = page.getByRole("button", { name: "Save as internal note" });
    const styleOf = (l: Locator) => l.evaluate((el) => `${getComputedStyle(el).backgroundColor} ${getComputedStyle(el).borderStyle}`);
    expect(await styleOf(saveNote)).not.toBe(await styleOf(sendReply));
    await page.getByLabel("Your message (Markdown)").fill("Looks real; check the SSO path too.");
    await saveNote.click();
    await page.waitForURL(/done=note/);
    await page.getByLabel("Your message (Markdown)").fill("Thank you, we reproduced it.");
    await page.getByRole("button", { name: "Send to the reporter" }).click();
    await page.waitForURL(/done=reply/);
    // After sending: the note is marked and drawn apart from what went to the reporter.
    const note = page.locator(".thread .message", { hasText: "check the SSO path" });
    const reply = page.locator(".thread .message", { hasText: "we reproduced it" });
    expect(await note.locator(".message-meta").textContent()).toContain("Internal note, not sent");
    expect(await reply.locator(".message-meta").textContent()).toContain("Sent to the reporter");
    expect(await styleOf(note)).not.toBe(await styleOf(reply));
    const rows = await served.shield.database.db.selectFrom("messages").select(["body", "internal"]).where("report_id", "=", id).where("author_kind", "=", "team").orderBy("id").execute();
    expect(rows.map((r) => [r.body, Boolean(r.internal)])).toEqual([
      ["Looks real; check the SSO path too.", true],
      ["Thank you, we reproduced it.", false],
    ]);

    // The settings' boxes too.
    const settings = await openPage(asAdmin);
    await settings.goto(`${served.baseUrl}/desk/settings`);
    for (const box of await settings.locator("main input[type=checkbox]").all()) await expectNextToLabel(box);
    expect(await wcagViolations(page)).toEqual([]);
    await page.close();
    await settings.close();
  });

  it("uses the full width: every queue column at 1280 px, title, state and nearest deadline at 360 px, escalations flagged", { timeout: 60_000 }, async () => {
    const escalated = await submit({ channel: "account_attack", title: "Queue: my account is being taken over right now" });
    await submit({ channel: "sensitive", title: "Queue: a customer list was sent to the wrong address" });
    // The reporter presses Escalate once the promised first response (2 hours) has passed.
    const token = escalated.trackingUrl.split("/").pop()!;
    await escalateReport({ db: served.shield.database.db, events: served.shield.events, reportCommits: served.shield.reportCommits, settings: served.shield.settings, clock: new FakeClock(new Date(Date.now() + 3 * 3_600_000).toISOString()) }, await served.shield.settings.get(), token);

    const page = await openPage(asAdmin);
    await page.goto(`${served.baseUrl}/desk?state=all`);
    const layout = await page.evaluate(() => {
      const scroll = document.querySelector(".queue-scroll")!;
      return { page: document.documentElement.scrollWidth, scroll: scroll.scrollWidth, visible: scroll.clientWidth, main: document.querySelector("main")!.clientWidth };
    });
    expect(layout.page).toBeLessThanOrEqual(1280);
    expect(layout.scroll).toBeLessThanOrEqual(layout.visible);
    expect(layout.main).toBeGreaterThan(1200);
    const headers = page.locator("table.queue thead th");
    expect(await headers.count()).toBe(9);
    for (const th of await headers.all()) expect((await boxOf(th)).x + (await boxOf(th)).width).toBeLessThanOrEqual(1280);
    const flagged = page.locator(`tr[data-report-id="${escalated.id}"]`);
    expect(await flagged.locator(".badge-escalated").textContent()).toBe("Escalated");
    expect(await page.locator("tr .badge-escalated").count()).toBe(1);
    expect(await wcagViolations(page)).toEqual([]);

    await page.goto(`${served.baseUrl}/desk/reports/${escalated.id}`);
    expect(await page.locator("#escalation-banner").textContent()).toMatch(/^Escalated by the reporter once, last on .+\. Nobody has answered yet/);
    expect(await wcagViolations(page)).toEqual([]);

    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${served.baseUrl}/desk`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    for (const row of await page.locator("table.queue tbody tr").all()) {
      for (const part of [row.locator(".queue-title a"), row.locator(".queue-state .state"), row.locator(".clock-nearest time")]) {
        const box = await boxOf(part);
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(360);
      }
    }
    // The nearest deadline of the account attack is its first response, and it is labelled.
    expect(await flagged.locator(".clock-nearest").getAttribute("data-label")).toBe("First response");
    expect(await wcagViolations(page)).toEqual([]);
    await page.close();
  });

  it("has one header on every team page, with and without JavaScript, and sends / to the policy page", { timeout: 240_000 }, async () => {
    const { id } = await submit({ channel: "vulnerability", title: "Header: found on every page" });
    const pages = ["/desk", `/desk/reports/${id}`, "/desk/advisories", "/desk/metrics", "/desk/settings", "/team", "/team/account", "/team/members"];
    const headerOf = async (page: Page) => {
      const nav = page.getByRole("navigation", { name: "Team pages" });
      return {
        links: await nav.getByRole("link").evaluateAll((links) => links.map((a) => `${a.textContent} ${a.getAttribute("href")}`)),
        current: await nav.locator("[aria-current=page]").evaluateAll((links) => links.map((a) => a.textContent)),
        signOut: await page.locator("header form.sign-out").getByRole("button", { name: "Sign out" }).count(),
      };
    };
    const all = ["Queue /desk", "Advisories /desk/advisories", "Metrics /desk/metrics", "Settings /desk/settings", "Team /team/members", "Account /team/account"];
    const withoutJs = await signedInContext(offline, { javaScriptEnabled: false });
    for (const [context, paths] of [
      [asAdmin, pages],
      [withoutJs, ["/desk", `/desk/reports/${id}`, "/desk/advisories", "/desk/metrics", "/team/members"]],
    ] as const) {
      const page = await openPage(context);
      for (const path of paths) {
        expect((await page.goto(`${served.baseUrl}${path}`))?.status(), path).toBe(200);
        const header = await headerOf(page);
        expect(header.links, path).toEqual(all);
        expect(header.signOut, path).toBe(1);
        expect(await page.locator("main form.sign-out").count(), path).toBe(0);
      }
      await page.goto(`${served.baseUrl}/desk/metrics`);
      expect((await headerOf(page)).current).toEqual(["Metrics"]);
      await page.goto(`${served.baseUrl}/desk/advisories`);
      expect((await headerOf(page)).current).toEqual(["Advisories"]);
      await page.goto(`${served.baseUrl}/desk/reports/${id}`);
      expect((await headerOf(page)).current).toEqual(["Queue"]);
      if (context === asAdmin) expect(await wcagViolations(await page.goto(`${served.baseUrl}/team/members`).then(() => page))).toEqual([]);
      await page.close();
    }

    // A triager's header has no settings; the members page is the same one, read-only.
    const page = await openPage(asTriager);
    await page.goto(`${served.baseUrl}/team/members`);
    expect((await headerOf(page)).links).toEqual(all.filter((l) => !l.startsWith("Settings")));
    expect(await page.locator("main form").count()).toBe(0);

    // Signing out from the header works without JavaScript too.
    const offlinePage = await openPage(withoutJs);
    await offlinePage.goto(`${served.baseUrl}/team/account`);
    await offlinePage.getByRole("button", { name: "Sign out" }).click();
    await offlinePage.waitForURL(/\/login/);
    expect((await offlinePage.goto(`${served.baseUrl}/desk`))?.url()).toMatch(/\/login/);

    const root = await offlinePage.goto(`${served.baseUrl}/`);
    expect(root?.url()).toBe(`${served.baseUrl}/security`);
    expect(root?.status()).toBe(200);
    expect(root?.headers()["content-type"]).toMatch(/^text\/html/);
    await withoutJs.close();
  });
});
