import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, fillReportForm, launchChromium, newPage, serveTestShield, type ServedShield } from "../../../test/browser.js";
import { parseHtml } from "../../../test/html.js";
import { mailsStartingWith, recipientOf } from "../../../test/outbox.js";
import { cookiesFrom, csrfTokenIn, multipart, reportFormParts, type FormPart } from "../../../test/web-forms.js";
import { importHallOfFame } from "../../modules/hall-of-fame/index.js";
import { importPolicy } from "../../modules/policy/index.js";
import { systemClock } from "../../shared/clock.js";

const SEED = fs.readFileSync(path.resolve(import.meta.dirname, "../../../test/fixtures/seed-policy.md"), "utf8");
const admin = { kind: "cli" } as const;
const TRACKING_LINK = /\/security\/reports\/[A-Za-z0-9_-]{43}\b/;

/**
 * The "done when": a new user with only a browser can read the policy, submit a
 * report, get the receipt, follow and answer it through the link and read the thanks page.
 */
describeInBrowser("a reporter's whole journey in Chromium", () => {
  let served: ServedShield;
  let browser: Browser;
  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    await importPolicy(served.shield.database.db, systemClock, admin, SEED);
    await importHallOfFame(served.shield.database.db, systemClock, admin, SEED);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  /** The receipts the worker wrote to `email`; the file mailer only needs the data directory. */
  async function receiptsTo(email: string): Promise<string[]> {
    await served.shield.worker.drain();
    return mailsStartingWith(served, "receipt-").filter((eml) => recipientOf(eml).includes(email));
  }

  const siteNav = (page: Page) => page.getByRole("navigation", { name: "Security pages" });

  async function followTheJourney(javaScriptEnabled: boolean) {
    const email = `ada+${javaScriptEnabled ? "js" : "nojs"}@example.org`;
    const title = `Stored XSS in the profile (${javaScriptEnabled ? "with" : "without"} JavaScript)`;
    const answer = `It also works on the mobile site (${javaScriptEnabled ? "with" : "without"} JavaScript).`;
    const { page, incidents, close } = await newPage(browser, { javaScriptEnabled });
    try {
      // 1. The policy, as imported from the seed, with its variables filled in.
      await page.goto(`${served.baseUrl}/security`);
      expect(await page.getByRole("heading", { level: 1 }).allTextContents()).toEqual(["Security response"]);
      expect(await page.getByRole("heading", { level: 2 }).allTextContents()).toEqual([
        "We appreciate your concern",
        "Reporting security problems",
        "Tracking and disclosing security issues",
        "Thanks for working with us",
      ]);
      expect(await page.getByRole("link", { name: "Security team", exact: true }).first().getAttribute("href")).toBe("mailto:security@example.com");
      expect(await page.content()).not.toContain("{{");
      await siteNav(page).getByRole("link", { name: "Report", exact: true }).click();
      await page.waitForURL(`${served.baseUrl}/security/report`);

      // 2. The form, by its labels.
      await fillReportForm(page, {
        title,
        description: "The name field is rendered without escaping.",
        steps: "1. Set your name to <b>x</b>\n2. Open /profile",
        name: "Ada Researcher",
        email,
        creditName: "Ada R.",
        aiUsed: "No",
      });
      await page.getByRole("button", { name: "Send report" }).click();
      await page.waitForURL(`${served.baseUrl}/security/report/received`);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Thank you, we have your report");
      expect(await page.getByRole("status").textContent()).toContain(title);
      const shownOnce = await page.getByRole("link", { name: TRACKING_LINK }).getAttribute("href");

      // 3. The receipt e-mail carries the tracking link; the reporter opens that one.
      const receipts = await receiptsTo(email);
      expect(receipts).toHaveLength(1);
      expect(receipts[0]).toContain("within 72 hours");
      const link = receipts[0]!.split(/\r?\n/).find((line) => line.startsWith(`${served.baseUrl}/security/reports/`));
      expect(link).toMatch(TRACKING_LINK);
      expect(link).toBe(shownOnce);
      await page.goto(link!);

      // 4. The status in plain words; the reporter answers and sees the answer in the thread.
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toMatch(new RegExp(`^Report #\\d+: ${title.replace(/[()]/g, "\\$&")}$`));
      expect(await page.getByText("Received. A person from the security team will answer you soon.", { exact: true }).isVisible()).toBe(true);
      expect(await page.getByText("No messages yet.").isVisible()).toBe(true);
      await page.getByLabel("Your answer").fill(answer);
      await page.getByRole("button", { name: "Send answer" }).click();
      await page.waitForURL(/\?done=reply#thread$/);
      expect(await page.getByRole("status").textContent()).toContain("Your answer was sent");
      const sent = page.getByRole("listitem").filter({ hasText: answer });
      expect(await sent.count()).toBe(1);
      expect(await sent.textContent()).toMatch(/^\s*You ·/);

      // 5. The thanks page, through the site's navigation, lists the seed's hall of fame.
      await siteNav(page).getByRole("link", { name: "Thanks", exact: true }).click();
      await page.waitForURL(`${served.baseUrl}/security/thanks`);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Hall of fame");
      const entries = page.getByRole("main").getByRole("listitem");
      expect(await entries.count()).toBe(86);
      expect(await entries.first().textContent()).toBe("Brett Hardin");
      expect(await page.getByText("Jovan Šikanja", { exact: true }).isVisible()).toBe(true);
      const oscar = page.getByRole("link", { name: "Óscar Repáraz", exact: true });
      expect(await oscar.getAttribute("href")).toBe("http://www.reparaz.net");
      const trio = page.getByRole("link", { name: "Shivam Kumar Agarwal, Nithish Varghese, and Sahil Srivastava", exact: true });
      expect(await trio.getAttribute("href")).toBe("https://twitter.com/netanalysts");
      const rels = await entries.getByRole("link").evaluateAll((links) => links.map((a) => a.getAttribute("rel")));
      expect(rels).toHaveLength(64);
      expect(new Set(rels)).toEqual(new Set(["nofollow ugc noopener"]));

      // 6. Nothing went wrong on the way: no console error (CSP violations show there), no failed load.
      expect(incidents).toEqual({ dialogs: [], consoleErrors: [], pageErrors: [], failedLoads: [] });
    } finally {
      await close();
    }
  }

  it("lets a new reporter read the policy, report, open the receipt's link, answer and read the thanks page", async () => {
    await followTheJourney(true);
  });

  it("lets them do the same with JavaScript disabled", async () => {
    await followTheJourney(false);
  });

  it("serves every public page with a CSP without 'unsafe-inline' and no inline style or script to need it", async () => {
    const get = (url: string, cookie = "") => fetch(`${served.baseUrl}${url}`, { headers: { cookie }, redirect: "manual" });
    const form = await get("/security/report");
    const session = { cookie: cookiesFrom(form.headers.getSetCookie()), token: csrfTokenIn(await form.clone().text()) };
    const post = (parts: FormPart[]) => {
      const body = multipart([{ name: "_csrf", value: session.token }, ...parts]);
      return fetch(`${served.baseUrl}/security/report`, { method: "POST", body: new Uint8Array(body.payload), headers: { ...body.headers, cookie: session.cookie }, redirect: "manual" });
    };

    const sent = await post(reportFormParts({ reporterEmail: "csp@example.org" }));
    expect(sent.status).toBe(303);
    const received = await get("/security/report/received", cookiesFrom(sent.headers.getSetCookie()));
    const receivedHtml = await received.clone().text();
    const tracking = TRACKING_LINK.exec(receivedHtml)?.[0] ?? "no tracking link on the confirmation page";

    const pages: [string, Response, number, RegExp][] = [
      ["the policy", await get("/security"), 200, /^Security response$/],
      ["the form", form, 200, /^Report a security issue$/],
      ["the form with errors", await post([]), 400, /^Report a security issue$/],
      ["the confirmation", received, 200, /^Thank you, we have your report$/],
      ["the tracking page", await get(tracking), 200, /^Report #\d+: Stored XSS in the profile page$/],
      ["the hall of fame", await get("/security/thanks"), 200, /^Hall of fame$/],
      ["the support answer", await post(reportFormParts({ channel: "support", title: "", description: "" })), 200, /^This goes to our support team$/],
    ];
    for (const [name, response, status, heading] of pages) {
      expect(response.status, name).toBe(status);
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp, name).toContain("script-src 'self'");
      expect(csp, name).toContain("style-src 'self'");
      expect(csp, name).not.toContain("unsafe-inline");
      const doc = parseHtml(await response.text());
      expect(doc.querySelector("main h1")?.textContent, name).toMatch(heading);
      expect(doc.querySelectorAll("[style]").length, `${name}: style= attributes`).toBe(0);
      expect(doc.querySelectorAll("style").length, `${name}: <style> elements`).toBe(0);
      expect(doc.querySelectorAll("script:not([src])").length, `${name}: inline scripts`).toBe(0);
    }
  });
});
