import { generate } from "otplib";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, launchChromium, newPage, serveTestShield, type PageIncidents, type ServedShield } from "../../../test/browser.js";
import { GOOD_PASSWORD } from "../../../test/sign-in.js";
import { verifyPasswordStep } from "../../modules/auth/index.js";
import { openSetupIfNeeded } from "../../modules/people/index.js";
import { systemClock } from "../../shared/clock.js";

/**
 * A code for the next 30-second step: accepted (one step of tolerance) and never the
 * step a previous sign-in in this test used, so the test does not wait for the clock.
 */
function nextStepCode(secret: string): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
}

describeInBrowser("team sign-in in Chromium", () => {
  let served: ServedShield;
  let shield: { baseUrl: string; database: ServedShield["shield"]["database"] };
  let browser: Browser;
  let page: Page;
  let incidents: PageIncidents;
  let closePage: () => Promise<void>;
  let secret = "";
  let recoveryCodes: string[] = [];
  const email = "ada@example.com";

  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    // WebAuthn needs a host name (an IP address cannot be a relying party id); localhost is a secure context without TLS.
    served.shield.config.baseUrl = served.baseUrl.replace("//127.0.0.1:", "//localhost:");
    shield = { baseUrl: served.shield.config.baseUrl, database: served.shield.database };
    browser = await launchChromium();
    ({ page, incidents, close: closePage } = await newPage(browser));
  });
  afterAll(async () => {
    await closePage?.();
    await browser?.close();
    await served?.close();
  });

  const signInWithPassword = async () => {
    await page.goto(`${shield.baseUrl}/login`);
    await page.getByLabel("E-mail address").fill(email);
    await page.getByLabel("Password", { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL(`${shield.baseUrl}/login/second-factor`);
  };

  it("creates the first admin from the setup link: password, then TOTP from the secret on the page", async () => {
    const token = await openSetupIfNeeded(shield.database.db, systemClock);
    await page.goto(`${shield.baseUrl}/setup/${token}`);
    await page.getByLabel("E-mail address").fill(email);
    await page.getByLabel("Name").fill("Ada Lovelace");
    await page.getByLabel("New password", { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel("Repeat the new password").fill(GOOD_PASSWORD);
    await page.getByRole("button", { name: "Create admin" }).click();

    await page.waitForURL(`${shield.baseUrl}/team/enrol`);
    expect(await page.getByRole("img", { name: /QR code/ }).evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    secret = ((await page.locator("#totp-secret").textContent()) ?? "").replace(/\s/g, "");
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByLabel("Code from the app").fill(await generate({ secret }));
    await page.getByRole("button", { name: "Confirm" }).click();

    await expect.poll(() => page.locator("#recovery-codes li").count()).toBe(10);
    recoveryCodes = (await page.locator("#recovery-codes li").allTextContents()).map((code) => code.trim());
    expect(await page.locator("#api-token").textContent()).toMatch(/^shd_/);
    await page.getByRole("link", { name: /continue/ }).click();
    await page.waitForURL(`${shield.baseUrl}/desk`);
    await page.goto(`${shield.baseUrl}/team`);
    expect(await page.locator("main").textContent()).toContain(`You are signed in as Ada Lovelace (${email})`);
  });

  it("signs out, and signs in again with password and TOTP; a wrong code is refused", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login\?ended=signed_out$/);
    expect(await page.getByRole("status").textContent()).toBe("You are signed out.");
    expect((await page.goto(`${shield.baseUrl}/team`))?.url()).toMatch(/\/login$/);

    await signInWithPassword();
    await page.getByLabel("Authentication code").fill("000000");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    expect(await page.locator("#code-error").textContent()).toBe("That code is not right, or it has been used already.");
    expect(page.url()).toBe(`${shield.baseUrl}/login/second-factor`);

    await page.getByLabel("Authentication code").fill(await nextStepCode(secret));
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`${shield.baseUrl}/desk`);
    await page.goto(`${shield.baseUrl}/team`);
    expect(await page.locator("main h1").textContent()).toBe("Signed in");
    expect(await page.locator(".facts dd").first().textContent()).toBe("admin: reads and works reports, manages the team and settings");
    const cookie = (await page.context().cookies()).find((c) => c.name === "shield_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
  });

  it("adds a passkey with Chromium's virtual authenticator and signs in with it as the second factor", async () => {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });

    await page.goto(`${shield.baseUrl}/team/account`);
    await page.getByLabel("Name of the new passkey").fill("Laptop");
    await page.locator("#passkey-password").fill(GOOD_PASSWORD);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await page.waitForURL(`${shield.baseUrl}/team/account?done=passkey-added`);
    expect(await page.locator(".passkeys").textContent()).toContain("Laptop");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login\?ended=signed_out$/);
    await signInWithPassword();
    await page.getByRole("button", { name: "Use a passkey" }).click();
    await page.waitForURL(`${shield.baseUrl}/desk`);
    await page.goto(`${shield.baseUrl}/team`);
    expect(await page.locator("main").textContent()).toContain(`You are signed in as Ada Lovelace (${email})`);
    const events = await shield.database.db.selectFrom("audit_events").select(["action", "data"]).where("action", "in", ["auth.passkey_added", "auth.login_succeeded"]).orderBy("seq").execute();
    expect(events.map((e) => [e.action, JSON.parse(e.data).method ?? null])).toEqual([
      ["auth.login_succeeded", "totp"],
      ["auth.passkey_added", null],
      ["auth.login_succeeded", "passkey"],
    ]);
  });

  it("signs in with password and a recovery code together while strangers' failures limit the account", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login\?ended=signed_out$/);
    for (let i = 0; i < 10; i++) {
      await verifyPasswordStep(served.shield.auth, { email, password: `a stranger's guess ${i}`, ip: `198.51.100.${i + 1}` }).catch(() => {});
    }
    await page.goto(`${shield.baseUrl}/login`);
    await page.getByLabel("E-mail address").fill(email);
    await page.getByLabel("Password", { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole("button", { name: "Continue" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toContain("needs your password and your second factor together");
    await page.getByLabel("Password", { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel("Authentication code or recovery code").fill(recoveryCodes[0]!);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`${shield.baseUrl}/team/account?done=recovery-code`);
    expect(await page.locator("main").textContent()).toContain("You signed in with a recovery code");
  });

  it("ran no inline script, broke no CSP rule, and failed no load but the refused code", () => {
    expect(incidents).toEqual({ dialogs: [], consoleErrors: [], pageErrors: [], failedLoads: ["/login/second-factor"] });
  });
});
