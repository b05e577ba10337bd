import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, fillReportForm, launchChromium, newPage, serveTestShield, wcagViolations, type ServedShield } from "../../../test/browser.js";
import { importHallOfFame } from "../../modules/hall-of-fame/index.js";
import { importPolicy } from "../../modules/policy/index.js";
import { updateSetting } from "../../modules/settings/index.js";
import { createAdvisory, publishAdvisory } from "../../modules/advisories/index.js";
import { systemClock } from "../../shared/clock.js";

const SEED = fs.readFileSync(path.resolve(import.meta.dirname, "../../../test/fixtures/seed-policy.md"), "utf8");
const admin = { kind: "cli" } as const;

/**
 * The public pages checked the way an accessibility audit would: axe-core's WCAG 2.1 AA
 * rules, nothing wider than a small phone's screen, and the keyboard path into the form.
 */
describeInBrowser("the public pages' accessibility in Chromium", () => {
  let served: ServedShield;
  let browser: Browser;
  let trackingUrl: string;
  let advisoryId: string;
  let stylesheetBefore: string | undefined;
  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    await importPolicy(served.shield.database.db, systemClock, admin, SEED);
    await importHallOfFame(served.shield.database.db, systemClock, admin, SEED);
    const response = await fetch(`${served.baseUrl}/api/v1/reports`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ channel: "vulnerability", title: "Open redirect after sign-in", description: "The next parameter is not checked.", reporter: { name: "Ada", email: "ada@example.org" } }),
    });
    expect(response.status).toBe(201);
    const received = (await response.json()) as { id: number; trackingUrl: string };
    trackingUrl = received.trackingUrl;
    // A published advisory with every part its page can show.
    const db = served.shield.database.db;
    const advisory = await createAdvisory(db, systemClock, await served.shield.settings.get(), admin, {
      reportIds: [received.id],
      title: "Open redirect after sign-in",
      summary: "The `next` parameter was not checked, so a link could send people elsewhere after they signed in.",
      products: [{ vendor: "Example Inc.", product: "Basecamp", ranges: [{ introduced: "4.0.0", fixed: "4.2.1" }, { introduced: "0", lastAffected: "3.9.9" }], fixedVersion: "4.2.1" }],
      cvss31Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N",
      cwe: "CWE-601",
      cveId: "CVE-2026-1234",
      references: ["https://example.com/changelog"],
      workarounds: "None needed after updating.",
      credits: [{ name: "Ada", url: "https://ada.example.org", type: "finder" }],
    });
    await publishAdvisory({ db, clock: systemClock, baseUrl: () => served.baseUrl, events: served.shield.events, settings: served.shield.settings }, { actor: admin, mayOverride: true }, advisory.publicId, "accessibility check");
    advisoryId = advisory.publicId;
    stylesheetBefore = (await (await fetch(`${served.baseUrl}/security/report`)).text()).match(/assets\/site\/[0-9a-f]+\.css/)?.[0];
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  /** Each public page, reached as a reporter reaches it. */
  const pages: Array<[string, (page: Page) => Promise<void>]> = [
    ["the policy", (page) => page.goto(`${served.baseUrl}/security`).then(() => {})],
    ["the report form", (page) => page.goto(`${served.baseUrl}/security/report`).then(() => {})],
    [
      "the form sent empty, with its errors",
      async (page) => {
        await page.goto(`${served.baseUrl}/security/report`);
        await page.getByRole("button", { name: "Send report" }).click();
        await page.waitForURL(`${served.baseUrl}/security/report`);
        await page.getByRole("heading", { name: "Report a security issue" }).waitFor();
      },
    ],
    [
      "the confirmation",
      async (page) => {
        await page.goto(`${served.baseUrl}/security/report`);
        await fillReportForm(page, { title: "Stored XSS in the profile", description: "The name field is not escaped.", name: "Ada", email: "ada@example.org" });
        await page.getByRole("button", { name: "Send report" }).click();
        await page.waitForURL(`${served.baseUrl}/security/report/received`);
      },
    ],
    ["the tracking page", (page) => page.goto(trackingUrl).then(() => {})],
    ["the thanks page", (page) => page.goto(`${served.baseUrl}/security/thanks`).then(() => {})],
    ["an unknown tracking link", (page) => page.goto(`${served.baseUrl}/security/reports/${"A".repeat(43)}`).then(() => {})],
  ];

  it("meets axe-core's WCAG 2.1 AA rules on every public page, with JavaScript on and off", { timeout: 180_000 }, async () => {
    // The check itself: a field without a label and low-contrast text are found.
    const { page: probe, close: closeProbe } = await newPage(browser);
    await probe.setContent(`<!doctype html><html lang="en"><title>t</title><main><input type="text"><p style="color:#bbb;background:#fff">faint</p></main></html>`);
    expect((await wcagViolations(probe)).map((v) => v.id).sort()).toEqual(["color-contrast", "label"]);
    await closeProbe();

    for (const javaScriptEnabled of [true, false]) {
      for (const [name, open] of pages) {
        const { page, close } = await newPage(browser, { javaScriptEnabled });
        try {
          await open(page);
          // axe needs JavaScript; with the page's own off, it runs in a second context on the same HTML.
          if (!javaScriptEnabled) {
            const html = await page.content();
            const { page: checker, close: closeChecker } = await newPage(browser, { javaScriptEnabled: true });
            try {
              // The page as it was served, its own scripts kept out: only axe runs.
              await checker.route("**/*", (route) =>
                route.request().isNavigationRequest() ? route.fulfill({ contentType: "text/html", body: html }) : route.request().resourceType() === "script" ? route.abort() : route.continue(),
              );
              await checker.goto(page.url());
              expect(await wcagViolations(checker), `${name} (JavaScript off)`).toEqual([]);
            } finally {
              await closeChecker();
            }
            continue;
          }
          expect(await wcagViolations(page), name).toEqual([]);
        } finally {
          await close();
        }
      }
    }
  });

  it("meets the same rules on the advisories list and an advisory's page, which carry no script at all", { timeout: 180_000 }, async () => {
    for (const url of [`${served.baseUrl}/security/advisories`, `${served.baseUrl}/security/advisories/${advisoryId}`]) {
      const { page, close } = await newPage(browser);
      try {
        await page.goto(url);
        expect(await page.locator("script").count(), url).toBe(0);
        expect(await wcagViolations(page), url).toEqual([]);
      } finally {
        await close();
      }
    }
  });

  it("keeps AA contrast when the company's colour is a pale one", { timeout: 120_000 }, async () => {
    await updateSetting(served.shield.settings, systemClock, admin, "brandColor", "#ffee00");
    // The settings cache of the serving process lives 5 s; the stylesheet's address changes with the colour.
    await expect.poll(async () => (await (await fetch(`${served.baseUrl}/security/report`)).text()).match(/assets\/site\/[0-9a-f]+\.css/)?.[0], { timeout: 15_000, interval: 500 }).not.toBe(stylesheetBefore);
    for (const [name, open] of pages.slice(0, 3)) {
      const { page, close } = await newPage(browser);
      try {
        await open(page);
        expect(await wcagViolations(page), name).toEqual([]);
      } finally {
        await close();
      }
    }
  });

  it("fits a 360-pixel-wide phone screen without sideways scrolling", { timeout: 120_000 }, async () => {
    const { page, close } = await newPage(browser, { viewport: { width: 360, height: 740 } });
    try {
      for (const [name, open] of pages) {
        await open(page);
        const widths = await page.evaluate(() => ({ content: document.documentElement.scrollWidth, screen: window.innerWidth }));
        expect(widths.content, name).toBeLessThanOrEqual(widths.screen);
      }
    } finally {
      await close();
    }
  });

  it("lets a keyboard user skip to the form and see where the focus is", async () => {
    const { page, close } = await newPage(browser);
    try {
      await page.goto(`${served.baseUrl}/security/report`);
      await page.keyboard.press("Tab");
      const skip = page.getByRole("link", { name: "Skip to content" });
      expect(await skip.evaluate((element) => element === document.activeElement)).toBe(true);
      expect(await skip.isVisible()).toBe(true);
      await page.keyboard.press("Enter");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
      // The first field of the form is next, with a visible focus ring.
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        const element = document.activeElement as HTMLInputElement;
        const style = getComputedStyle(element);
        return { label: element.labels?.[0]?.textContent?.trim() ?? element.textContent?.trim(), outline: style.outlineStyle, width: style.outlineWidth, shadow: style.boxShadow };
      });
      expect(focused.label).toBeTruthy();
      expect(focused.outline !== "none" || focused.shadow !== "none", JSON.stringify(focused)).toBe(true);
    } finally {
      await close();
    }
  });
});
