import { generate } from "otplib";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, launchChromium, newPage, serveTestShield, type ServedShield } from "../../../test/browser.js";
import { GOOD_PASSWORD } from "../../../test/sign-in.js";
import { createInvite } from "../../modules/auth/index.js";
import { addTeamMember, openSetupIfNeeded } from "../../modules/people/index.js";
import { systemClock } from "../../shared/clock.js";

/** A browser opened, used and closed: nothing of it (cookies, session) is left for the next one. */
async function inFreshBrowser<T>(browser: Browser, use: (page: Page) => Promise<T>): Promise<T> {
  const { page, close } = await newPage(browser);
  try {
    return await use(page);
  } finally {
    await close();
  }
}

describeInBrowser("a setup or invite left after the password step", () => {
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

  const setPassword = async (page: Page) => {
    await page.getByLabel("New password", { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel("Repeat the new password").fill(GOOD_PASSWORD);
  };
  const confirmAuthenticator = async (page: Page) => {
    await page.waitForURL(`${served.baseUrl}/team/enrol`);
    const secret = ((await page.locator("#totp-secret").textContent()) ?? "").replace(/\s/g, "");
    await page.getByLabel("Code from the app").fill(await generate({ secret }));
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => page.locator("#recovery-codes li").count()).toBe(10);
  };
  const fillSetup = async (page: Page, url: string) => {
    expect((await page.goto(url))?.status()).toBe(200);
    await page.getByLabel("E-mail address").fill("grace@example.com");
    await page.getByLabel("Name").fill("Grace Hopper");
    await setPassword(page);
    await page.getByRole("button", { name: "Create admin" }).click();
  };
  const setupLinkState = (url: string) =>
    inFreshBrowser(browser, async (page) => {
      const response = await page.goto(url);
      return `${response?.status()} ${await page.locator("h1").textContent()}`;
    });

  it("keeps the setup link open until the admin's authenticator is confirmed, and a restart prints a fresh one", async () => {
    const first = `${served.baseUrl}/setup/${await openSetupIfNeeded(served.shield.database.db, systemClock)}`;
    // Password given, then the browser closed on the authenticator page.
    await inFreshBrowser(browser, async (page) => {
      await fillSetup(page, first);
      await page.waitForURL(`${served.baseUrl}/team/enrol`);
    });
    expect(await setupLinkState(first)).toBe("200 Create the first admin");

    // A restart while no admin can sign in prints a new link; the one before it closes.
    const token = await openSetupIfNeeded(served.shield.database.db, systemClock);
    expect(token).not.toBeNull();
    const second = `${served.baseUrl}/setup/${token}`;
    expect(await setupLinkState(first)).toBe("404 Setup link not valid");

    await inFreshBrowser(browser, async (page) => {
      await fillSetup(page, second);
      await confirmAuthenticator(page);
      expect(await page.locator("#api-token").textContent()).toMatch(/^shd_/);
      await page.goto(`${served.baseUrl}/team`);
      expect(await page.locator("main").textContent()).toContain("You are signed in as Grace Hopper (grace@example.com)");
    });
    const members = await served.shield.database.db.selectFrom("users").select(["email", "role"]).execute();
    expect(members).toEqual([{ email: "grace@example.com", role: "admin" }]);
    // Now the team has an admin who can sign in: the link is spent, and a restart prints none.
    expect(await setupLinkState(second)).toBe("404 Setup link not valid");
    expect(await openSetupIfNeeded(served.shield.database.db, systemClock)).toBeNull();
  }, 120_000);

  it("keeps an invite usable until the new member's authenticator is confirmed", async () => {
    const db = served.shield.database.db;
    await addTeamMember(db, systemClock, { kind: "cli" }, { email: "linus@example.com", name: "Linus", role: "triager" });
    const { url } = await createInvite(served.shield.auth, { kind: "cli" }, "linus@example.com", served.baseUrl);

    await inFreshBrowser(browser, async (page) => {
      await page.goto(url);
      await setPassword(page);
      await page.getByRole("button", { name: "Continue" }).click();
      await page.waitForURL(`${served.baseUrl}/team/enrol`);
    });
    await inFreshBrowser(browser, async (page) => {
      expect((await page.goto(url))?.status()).toBe(200);
      expect(await page.locator("h1").textContent()).toBe("Set up your sign-in");
      await setPassword(page);
      await page.getByRole("button", { name: "Continue" }).click();
      await confirmAuthenticator(page);
    });
    expect((await inFreshBrowser(browser, (page) => page.goto(url)))?.status()).toBe(404);
  }, 120_000);
});
