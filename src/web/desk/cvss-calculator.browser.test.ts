import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, launchChromium, newPage, serveTestShield, type ServedShield } from "../../../test/browser.js";
import { buildReportInput } from "../../../test/factories.js";
import type { EnrolledMember } from "../../../test/sign-in.js";
import { addBrowserMember, signInInBrowser } from "../../../test/team-browser.js";

const METRICS_31 = { AV: "Network (N)", AC: "Low (L)", PR: "None (N)", UI: "None (N)", S: "Unchanged (U)", C: "High (H)", I: "High (H)", A: "None (N)" };
const WORDS_31 = [
  "Attack Vector: Network",
  "Attack Complexity: Low",
  "Privileges Required: None",
  "User Interaction: None",
  "Scope: Unchanged",
  "Confidentiality: High",
  "Integrity: High",
  "Availability: None",
];

describeInBrowser("the CVSS calculator on the report page", () => {
  let served: ServedShield;
  let browser: Browser;
  /** One triager per run: a member signs in once per 30-second step. */
  const triagers: EnrolledMember[] = [];

  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    triagers.push(await addBrowserMember(served, "triager"), await addBrowserMember(served, "triager"));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  const submit = async (title: string): Promise<number> => {
    const response = await fetch(`${served.baseUrl}/api/v1/reports`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(buildReportInput({ channel: "vulnerability", title })) });
    return ((await response.json()) as { id: number }).id;
  };

  for (const javaScriptEnabled of [true, false]) {
    it(`names metrics and values in words, and shows the score ${javaScriptEnabled ? "as the metrics are chosen" : "and the vector in words once saved"}`, { timeout: 90_000 }, async () => {
      const id = await submit(`CVSS in words (JavaScript ${javaScriptEnabled ? "on" : "off"})`);
      const { page, incidents, close } = await newPage(browser, { javaScriptEnabled });
      try {
        await signInInBrowser(page, served.baseUrl, triagers[javaScriptEnabled ? 0 : 1]!);
        await page.goto(`${served.baseUrl}/desk/reports/${id}`);
        await page.locator("summary", { hasText: "CVSS 3.1 calculator" }).click();
        const calculator = page.locator("details.cvss-calculator[data-cvss-version='3.1']");
        expect(await calculator.getByLabel("Attack Vector (AV)").locator("option").allTextContents()).toEqual(["—", "Network (N)", "Adjacent (A)", "Local (L)", "Physical (P)"]);
        for (const [metric, value] of Object.entries(METRICS_31)) {
          await calculator.locator(`#cvss31-${metric}`).selectOption({ label: value });
          if (javaScriptEnabled && metric === "AV") {
            // Live, before the vector is complete: the chosen metric in words, no score yet.
            await expect.poll(() => page.locator("#cvss31-words li").allTextContents()).toEqual(["Attack Vector: Network"]);
            expect(await page.locator("#cvss31-score").textContent()).toMatch(/^Not scored yet/);
          }
        }
        if (javaScriptEnabled) {
          expect(await page.getByLabel("CVSS 3.1 vector").inputValue()).toBe("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N");
          await expect.poll(() => page.locator("#cvss31-score").textContent()).toBe("Score 9.1 (critical)");
          expect(await page.locator("#cvss31-words li").allTextContents()).toEqual(WORDS_31);
          // A vector typed into the field is scored as well.
          await page.getByLabel("CVSS 3.1 vector").fill("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
          await expect.poll(() => page.locator("#cvss31-score").textContent()).toBe("Score 9.8 (critical)");
          await page.getByLabel("CVSS 3.1 vector").fill("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N");
        } else {
          // Without the script the selects fill nothing: the triager types the vector.
          await page.getByLabel("CVSS 3.1 vector").fill("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N");
        }
        await page.getByRole("button", { name: "Save assessment" }).click();
        await page.waitForURL(/done=assessment/);
        expect(await page.locator("#cvss31-score").textContent()).toBe("Score 9.1 (critical)");
        expect(await page.locator("#cvss31-words li").allTextContents()).toEqual(WORDS_31);
        expect(await page.locator("dd", { hasText: "CVSS:3.1/" }).locator(".cvss-words").textContent()).toBe(WORDS_31.join("; "));
        expect(incidents.pageErrors).toEqual([]);
      } finally {
        await close();
      }
    });
  }
});
