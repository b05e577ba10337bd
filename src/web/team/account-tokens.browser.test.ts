import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, launchChromium, newPage, serveTestShield, type ServedShield } from "../../../test/browser.js";
import type { EnrolledMember } from "../../../test/sign-in.js";
import { addBrowserMember, signInInBrowser } from "../../../test/team-browser.js";

describeInBrowser("API tokens on the account page", () => {
  let served: ServedShield;
  let browser: Browser;
  /** One member per run: a member signs in once per 30-second step. */
  const members: EnrolledMember[] = [];

  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    members.push(await addBrowserMember(served, "triager"), await addBrowserMember(served, "viewer"));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  const callApi = (token: string) => fetch(`${served.baseUrl}/api/v1/reports`, { headers: { authorization: `Bearer ${token}` } });

  for (const javaScriptEnabled of [true, false]) {
    it(`makes a token with an expiry after the password, lists it without the secret, and revokes it (JavaScript ${javaScriptEnabled ? "on" : "off"})`, { timeout: 90_000 }, async () => {
      const who = members[javaScriptEnabled ? 0 : 1]!;
      const { page, incidents, close } = await newPage(browser, { javaScriptEnabled });
      try {
        await signInInBrowser(page, served.baseUrl, who);
        await page.goto(`${served.baseUrl}/team/account`);
        const tokens = page.locator("#tokens");
        await tokens.getByLabel("What uses it").fill("Nightly export");
        await tokens.getByLabel("Expires after (days)").fill("30");
        // With a wrong password nothing is made, and what was typed stays.
        await tokens.getByLabel("Current password").fill("not my password at all");
        await tokens.getByRole("button", { name: "Make an API token" }).click();
        await page.waitForURL(`${served.baseUrl}/team/account/tokens`);
        expect(await page.locator("#token-password-error").textContent()).toBeTruthy();
        expect(await page.locator("#tokens").getByLabel("What uses it").inputValue()).toBe("Nightly export");
        expect(await page.locator("#tokens tbody tr", { hasText: "Nightly export" }).count()).toBe(0);
        await page.locator("#tokens").getByLabel("Current password").fill(who.password);
        await page.locator("#tokens").getByRole("button", { name: "Make an API token" }).click();
        await page.waitForURL(`${served.baseUrl}/team/account/tokens`);
        expect(await page.locator("h1").textContent()).toBe("Your new API token");
        const token = (await page.locator("#api-token").textContent())!;
        expect(await page.locator("main").textContent()).toMatch(/It stops working on \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
        expect((await callApi(token)).status).toBe(200);

        await page.getByRole("link", { name: /back to your account/ }).click();
        const row = page.locator("#tokens tbody tr", { hasText: "Nightly export" });
        expect(await row.locator("td").allTextContents()).toEqual(["Nightly export", `${token.slice(0, 10)}…`, "active", expect.any(String), expect.any(String), expect.stringMatching(/UTC$/), expect.any(String)]);
        expect(await page.content()).not.toContain(token);
        await row.getByRole("button", { name: "Revoke “Nightly export”" }).click();
        await page.waitForURL(/done=token-revoked/);
        expect(await page.locator(".notice.success").textContent()).toContain("The API token is revoked");
        expect(await page.locator("#tokens tbody tr", { hasText: "Nightly export" }).locator("td").nth(2).textContent()).toBe("revoked");
        expect((await callApi(token)).status).toBe(401);
        expect(incidents.pageErrors).toEqual([]);
      } finally {
        await close();
      }
    });
  }
});
