import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, launchChromium, newPage, serveTestShield, type ServedShield } from "../../../test/browser.js";
import type { EnrolledMember } from "../../../test/sign-in.js";
import { addBrowserMember, signInInBrowser } from "../../../test/team-browser.js";
import { importHallOfFame } from "../../modules/hall-of-fame/index.js";
import { systemClock } from "../../shared/clock.js";

describeInBrowser("an admin edits and removes hall-of-fame entries", () => {
  let served: ServedShield;
  let browser: Browser;
  /** One admin per run: a member signs in once per 30-second step. */
  const admins: EnrolledMember[] = [];

  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    admins.push(await addBrowserMember(served, "admin"), await addBrowserMember(served, "admin"));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  const thanksPage = async () => (await fetch(`${served.baseUrl}/security/thanks`)).text();
  const auditActions = async () =>
    (await served.shield.database.db.selectFrom("audit_events").select(["action", "data"]).where("subject_type", "=", "hall_of_fame_entry").orderBy("seq").execute()).map((e) => ({
      action: e.action,
      data: JSON.parse(e.data ?? "null"),
    }));

  for (const javaScriptEnabled of [true, false]) {
    it(`changes an entry's name, link and year and removes another, audited, from the settings page (JavaScript ${javaScriptEnabled ? "on" : "off"})`, { timeout: 90_000 }, async () => {
      const tag = javaScriptEnabled ? "on" : "off";
      await importHallOfFame(served.shield.database.db, systemClock, { kind: "cli" }, `# Hall of fame\n\n* Jane Typo ${tag} (2023)\n* Spammer ${tag}\n`);
      const { page, incidents, close } = await newPage(browser, { javaScriptEnabled });
      try {
        await signInInBrowser(page, served.baseUrl, admins[javaScriptEnabled ? 0 : 1]!);
        await page.goto(`${served.baseUrl}/desk/settings`);
        await page.getByRole("link", { name: "Hall of fame" }).click();
        await page.waitForURL(`${served.baseUrl}/desk/hall-of-fame`);

        const jane = page.locator("section", { has: page.getByRole("heading", { name: `Jane Typo ${tag}` }) });
        // A link that is not http(s) is refused next to its field, and what was typed stays.
        await jane.getByLabel("Link").fill("javascript:alert(1)");
        await jane.getByLabel("Name", { exact: true }).fill(`Jane Doe ${tag}`);
        await jane.getByRole("button", { name: "Save entry" }).click();
        await page.waitForLoadState();
        const refused = page.locator("section", { has: page.getByRole("heading", { name: `Jane Typo ${tag}` }) });
        expect(await refused.locator(".field-error").first().textContent()).toMatch(/http/);
        expect(await refused.getByLabel("Name", { exact: true }).inputValue()).toBe(`Jane Doe ${tag}`);

        await refused.getByLabel("Link").fill("https://janedoe.example");
        await refused.getByLabel("Year").fill("2024");
        await refused.getByRole("button", { name: "Save entry" }).click();
        await page.waitForURL(/done=changed/);
        expect(await page.locator(".notice.success").textContent()).toBe("The entry is saved.");
        expect(await page.getByRole("heading", { name: `Jane Doe ${tag}` }).count()).toBe(1);

        const spammer = page.locator("section", { has: page.getByRole("heading", { name: `Spammer ${tag}` }) });
        await spammer.getByRole("button", { name: "Remove from the hall of fame" }).click();
        await page.waitForURL(/done=removed/);
        expect(await page.getByRole("heading", { name: `Spammer ${tag}` }).count()).toBe(0);
        expect(incidents.pageErrors).toEqual([]);
      } finally {
        await close();
      }

      const thanks = await thanksPage();
      expect(thanks).toContain(`<a href="https://janedoe.example"`);
      expect(thanks).toMatch(new RegExp(`<h2 id="year-2024">2024</h2>\\s*<ul class="hall-of-fame">[^]*Jane Doe ${tag}`));
      expect(thanks).not.toContain(`Jane Typo ${tag}`);
      expect(thanks).not.toContain(`Spammer ${tag}`);
      const audit = await auditActions();
      expect(audit).toContainEqual({
        action: "hall_of_fame.entry_changed",
        data: { before: { name: `Jane Typo ${tag}`, url: null, affiliation: null, year: 2023 }, after: { name: `Jane Doe ${tag}`, url: "https://janedoe.example", affiliation: null, year: 2024 } },
      });
      expect(audit.find((e) => e.action === "hall_of_fame.entry_removed" && e.data.name === `Spammer ${tag}`)).toBeDefined();
    });
  }
});
