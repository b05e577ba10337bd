import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PNG } from "../../../test/attachment-fixtures.js";
import { describeInBrowser, fillReportForm, launchChromium, newPage, serveTestShield, type ServedShield } from "../../../test/browser.js";

const XSS = {
  title: `<script>alert("title")</script><img src=x onerror=alert("img")>`,
  description: `"><svg onload=alert("svg")></svg>\n<iframe src="javascript:alert('frame')"></iframe>\n{{constructor.constructor('alert(1)')()}}`,
  steps: `</textarea><script>alert("steps")</script>`,
  impact: `<a href="javascript:alert('link')">click</a>`,
  asset: `<style>body{display:none}</style>`,
  name: `<b onmouseover=alert("name")>Mallory</b>`,
};

describeInBrowser("the public site in Chromium", () => {
  let served: ServedShield;
  let browser: Browser;
  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  /** As a reporter would: the form, by its labels. */
  async function fillReport(page: Page, title: string) {
    await page.goto(`${served.baseUrl}/security/report`);
    await fillReportForm(page, {
      title,
      description: "The name field is rendered without escaping.\n\n1. Set your name\n2. Open the profile",
      steps: "Open /profile",
      name: "Ada Researcher",
      email: "ada@example.org",
      creditName: "Ada R.",
      aiUsed: "No",
    });
  }

  async function reportAndReply(javaScriptEnabled: boolean) {
    const { page, incidents, close } = await newPage(browser, { javaScriptEnabled });
    try {
      await fillReport(page, `Stored XSS (${javaScriptEnabled ? "with" : "without"} JavaScript)`);
      await page.getByLabel("Attachments").setInputFiles({ name: "proof.png", mimeType: "image/png", buffer: PNG });
      await page.getByRole("button", { name: "Send report" }).click();

      await page.waitForURL(`${served.baseUrl}/security/report/received`);
      expect(await page.locator("h1").textContent()).toBe("Thank you, we have your report");
      expect(await page.locator(".notice.success").textContent()).toContain("within 72 hours");
      const link = (await page.locator("a.tracking-link").getAttribute("href"))!;
      expect(link.startsWith(`${served.baseUrl}/security/reports/`)).toBe(true);

      await page.goto(link);
      expect(await page.locator(".status").textContent()).toContain("A person from the security team will answer you soon");
      expect(await page.locator(".files").first().textContent()).toContain("proof.png");
      await page.getByLabel("Your answer").fill("One more detail: it also works on the mobile site.");
      await page.getByRole("button", { name: "Send answer" }).click();
      await page.waitForURL(/\?done=reply#thread$/);
      expect(await page.locator(".notice.success").textContent()).toContain("Your answer was sent");
      expect(await page.locator(".thread .from-reporter .plain-text").last().textContent()).toBe("One more detail: it also works on the mobile site.");

      await page.getByLabel("Link to credit").fill("https://ada.example.org");
      await page.getByRole("button", { name: "Save credit" }).click();
      await page.waitForURL(/\?done=credit#credit$/);
      expect(await page.locator(".facts").first().textContent()).toContain("As “Ada R.”, linking to https://ada.example.org");

      expect(incidents).toEqual({ dialogs: [], consoleErrors: [], pageErrors: [], failedLoads: [] });
    } finally {
      await close();
    }
  }

  it("lets a reporter send a report with a file, open the tracking link, reply and change the credit", async () => {
    await reportAndReply(true);
  });

  it("works the same with JavaScript disabled", async () => {
    await reportAndReply(false);
  });

  it("credits as the form's hint says: name and link empty, no credit; a link alone, the name above; a name, that name", async () => {
    const { page, close } = await newPage(browser);
    try {
      const send = async (title: string, credit: { name?: string; url?: string }) => {
        await page.goto(`${served.baseUrl}/security/report`);
        await fillReportForm(page, { title, description: "The export shows other tenants' invoices.", name: "Grace Reporter", email: "grace@example.org", aiUsed: "No" });
        expect(await page.locator("#creditName-hint").textContent()).toBe("Leave the name and the link empty for no public credit. With only a link, we credit the name above.");
        if (credit.name) await page.getByLabel("Name to credit").fill(credit.name);
        if (credit.url) await page.getByLabel("Link to credit").fill(credit.url);
        await page.getByRole("button", { name: "Send report" }).click();
        await page.waitForURL(`${served.baseUrl}/security/report/received`);
        await page.goto((await page.locator("a.tracking-link").getAttribute("href"))!);
        return (await page.locator(".facts").first().textContent())!;
      };
      expect(await send("Credit: nothing given", {})).toContain("Not credited publicly");
      expect(await send("Credit: a link alone", { url: "https://grace.example.org" })).toContain("As “Grace Reporter”, linking to https://grace.example.org");
      expect(await page.locator("#creditName-hint").textContent()).toContain("we credit the name on your report (Grace Reporter)");

      // On the tracking page the same rule: emptying both takes the credit away.
      await page.getByLabel("Link to credit").fill("");
      await page.getByLabel("Name to credit").fill("");
      await page.getByRole("button", { name: "Save credit" }).click();
      await page.waitForURL(/\?done=credit#credit$/);
      expect(await page.locator(".facts").first().textContent()).toContain("Not credited publicly");
      expect(await send("Credit: a name", { name: "G. R." })).toContain("As “G. R.”");
    } finally {
      await close();
    }
  });

  it("shows errors next to their fields with a summary, keeping what was typed", async () => {
    const { page, incidents, close } = await newPage(browser);
    try {
      await fillReport(page, "");
      await page.getByLabel("Your e-mail address").fill("not an address");
      await page.getByRole("button", { name: "Send report" }).click();
      await page.waitForLoadState();
      expect(await page.locator("#error-summary h2").textContent()).toBe("There are 2 problems with your report");
      expect(await page.getByLabel("Title").getAttribute("aria-invalid")).toBe("true");
      expect(await page.locator("#title-error").textContent()).toBe("is required");
      expect(await page.getByLabel("Your e-mail address").inputValue()).toBe("not an address");
      expect(await page.getByLabel("Steps to reproduce").inputValue()).toBe("Open /profile");
      expect(await page.getByLabel("Vulnerability report").isChecked()).toBe(true);
      await page.locator("#error-summary a").first().click();
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("title");
      expect(incidents).toEqual({ dialogs: [], consoleErrors: [], pageErrors: [], failedLoads: ["/security/report"] });
    } finally {
      await close();
    }
  });

  it("shows a report made of XSS payloads as inert text: no dialog, no console error, no CSP violation", async () => {
    const response = await fetch(`${served.baseUrl}/api/v1/reports`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        channel: "sensitive",
        title: XSS.title,
        description: XSS.description,
        steps: XSS.steps,
        impact: XSS.impact,
        asset: XSS.asset,
        reporter: { name: XSS.name, email: "mallory@example.org" },
        credit: { name: XSS.name, url: "https://example.org/\"><script>alert('credit')</script>" },
      }),
    });
    expect(response.status).toBe(201);
    const { trackingUrl } = (await response.json()) as { trackingUrl: string };

    const { page, incidents, close } = await newPage(browser);
    try {
      await page.goto(trackingUrl);
      expect(await page.locator("h1").textContent()).toContain(XSS.title);
      expect(await page.locator(".report-text").first().textContent()).toBe(XSS.description);
      expect(await page.locator("iframe, svg, main img, main script").count()).toBe(0);
      expect(await page.getByLabel("Name to credit").inputValue()).toBe(XSS.name);
      await page.getByLabel("Your answer").fill(`${XSS.steps}\n${XSS.title}`);
      await page.getByRole("button", { name: "Send answer" }).click();
      await page.waitForURL(/\?done=reply/);
      expect(await page.locator(".thread .plain-text").last().textContent()).toBe(`${XSS.steps}\n${XSS.title}`);
      await page.locator("body").hover();

      // The form, sent back with an error, shows the payloads as values, still inert.
      await page.goto(`${served.baseUrl}/security/report`);
      await page.getByLabel("Title").fill(XSS.title);
      await page.getByLabel("Description").fill(XSS.description);
      await page.getByLabel("Your name").fill(XSS.name);
      await page.getByRole("button", { name: "Send report" }).click();
      await page.waitForLoadState();
      expect(await page.getByLabel("Title").inputValue()).toBe(XSS.title);
      expect(await page.getByLabel("Description").inputValue()).toBe(XSS.description);

      // Only the form itself came back as an error (400); nothing else failed or ran.
      expect(incidents).toEqual({ dialogs: [], consoleErrors: [], pageErrors: [], failedLoads: ["/security/report"] });
    } finally {
      await close();
    }
  });
});
