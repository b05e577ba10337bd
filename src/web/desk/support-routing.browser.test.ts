import fs from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, launchChromium, newPage, serveTestShield, type ServedShield } from "../../../test/browser.js";
import { buildReportInput } from "../../../test/factories.js";
import type { EnrolledMember } from "../../../test/sign-in.js";
import { addBrowserMember, signInInBrowser } from "../../../test/team-browser.js";
import { encryptAndSign } from "../../platform/crypto/openpgp.js";
import { markBrowserEncrypted } from "../../modules/browser-encryption/index.js";
import { DEFAULT_SETTINGS } from "../../modules/settings/index.js";

const SECRET = "My invoice address changed to 12 Hidden Lane; where do I update it?";

describeInBrowser("routing a report that arrived encrypted to support, on the desk", () => {
  let served: ServedShield;
  let browser: Browser;
  /** One triager per run: a member signs in once per 30-second step (a code is accepted once). */
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

  /** A report as the form stores one the reporter's browser encrypted: ciphertext to the team key, marked. */
  const submitEncrypted = async (title: string): Promise<number> => {
    const teamKey = await (await fetch(`${served.baseUrl}/security/pgp-key.asc`)).text();
    const description = await encryptAndSign(new TextEncoder().encode(SECRET), teamKey, undefined, new Date());
    const response = await fetch(`${served.baseUrl}/api/v1/reports`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(buildReportInput({ channel: "sensitive", title, description })),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: number };
    await markBrowserEncrypted(served.shield.database.db, id, []);
    return id;
  };
  /** The mails of the file mailer whose names start so, quoted-printable undone. */
  const mailsOf = (prefix: string) => {
    const dir = path.join(served.dataDir, "outbox");
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && f.endsWith(".eml"))
      .map((f) => fs.readFileSync(path.join(dir, f), "utf8").replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))));
  };

  for (const javaScriptEnabled of [true, false]) {
    it(`tells the triager and forwards only a confirmed decrypted copy, or replies to the reporter instead (JavaScript ${javaScriptEnabled ? "on" : "off"})`, { timeout: 90_000 }, async () => {
      const forwarded = await submitEncrypted(`Invoice address (forward, JS ${javaScriptEnabled})`);
      const answered = await submitEncrypted(`Invoice address (reply, JS ${javaScriptEnabled})`);
      const { page, incidents, close } = await newPage(browser, { javaScriptEnabled });
      try {
        await signInInBrowser(page, served.baseUrl, triagers[javaScriptEnabled ? 0 : 1]!);

        await page.goto(`${served.baseUrl}/desk/reports/${forwarded}`);
        await page.locator("summary", { hasText: "Route to support" }).click();
        expect(await page.locator("#support-encrypted").textContent()).toContain("This report arrived encrypted (encrypted in the reporter's browser)");
        // No one-click route that would forward the report as it is.
        expect(await page.getByRole("button", { name: "Route to support", exact: true }).count()).toBe(0);
        const forward = page.getByRole("button", { name: "Forward a decrypted copy to support" });
        // Unconfirmed, the browser keeps the form: the box is required.
        await forward.click();
        expect(page.url()).toBe(`${served.baseUrl}/desk/reports/${forwarded}`);
        await page.getByLabel(`I confirm: ${DEFAULT_SETTINGS.supportEmail} gets this report and its public thread in clear text.`, { exact: false }).check();
        await forward.click();
        await page.waitForURL(/done=transition/);
        expect(await page.locator("#report-state").textContent()).toBe("Routed to support");

        await page.goto(`${served.baseUrl}/desk/reports/${answered}`);
        await page.locator("summary", { hasText: "Route to support" }).click();
        expect(await page.getByLabel("Message to the reporter (support gets nothing)").inputValue()).toContain(`please write to ${DEFAULT_SETTINGS.supportEmail}`);
        await page.getByRole("button", { name: "Reply to the reporter instead" }).click();
        await page.waitForURL(/done=transition/);
        expect(await page.locator("#report-state").textContent()).toBe("Routed to support");
        expect(incidents.pageErrors).toEqual([]);
      } finally {
        await close();
      }

      await served.shield.worker.drain();
      const [copy] = mailsOf(`support-forward-${forwarded}-`);
      expect(copy).toContain(SECRET);
      expect(copy).not.toContain("BEGIN PGP MESSAGE");
      expect(mailsOf(`support-forward-${answered}-`)).toEqual([]);
      const [update] = mailsOf(`update-${answered}-`);
      expect(update).toContain(`please write to ${DEFAULT_SETTINGS.supportEmail}`);
      expect(update).not.toMatch(/forwarded/i);
    });
  }
});
