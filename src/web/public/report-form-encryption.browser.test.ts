import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, fillReportForm, launchChromium, newPage, serveTestShield, type ServedShield } from "../../../test/browser.js";
import { GnuPG } from "../../../test/gnupg.js";

const CHECKBOX = "Encrypt my report in the browser before sending";
const DESCRIPTION = "Password reset tokens are predictable: they are the MD5 of the e-mail address.\nTried on my own account only. ✓";
const IMPACT = "Anyone can take over any account.";
const PROOF = Buffer.from("token=$(printf '%s' victim@example.com | md5sum)\n", "utf8");

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describeInBrowser("encrypting the report form in Chromium", () => {
  let served: ServedShield;
  let browser: Browser;
  /** The team's side: GnuPG holding the team secret key, exported through Shield's keyring. */
  let team: GnuPG;
  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    browser = await launchChromium();
    team = GnuPG.create();
    team.import((await served.shield.keyring.signingKey()).armor());
  });
  afterAll(async () => {
    team?.destroy();
    await browser?.close();
    await served?.close();
  });

  const db = () => served.shield.database.db;
  const latestReport = () => db().selectFrom("reports").selectAll().orderBy("id", "desc").executeTakeFirst();

  async function fillReport(page: Page, title: string) {
    await page.goto(`${served.baseUrl}/security/report`);
    await fillReportForm(page, { title, description: DESCRIPTION, impact: IMPACT, name: "Grace Reporter", email: "grace@example.org" });
  }

  it("encrypts description, impact and file before they leave the browser; GnuPG with the team key reads them", async () => {
    const module = await fetch(`${served.baseUrl}/assets/js/encrypt-report.js`);
    expect(module.status, "run `npm run build` first: the browser module is missing").toBe(200);

    const { page, incidents, close } = await newPage(browser);
    try {
      await fillReport(page, "Predictable reset tokens");
      await page.getByLabel("Attachments").setInputFiles({ name: "proof.txt", mimeType: "text/plain", buffer: PROOF });
      await page.getByLabel(CHECKBOX).check();
      await page.getByRole("button", { name: "Send report" }).click();

      await page.waitForURL(`${served.baseUrl}/security/report/received`);
      expect(await page.locator("h1").textContent()).toBe("Thank you, we have your report");
      expect(await page.locator("a.tracking-link").getAttribute("href")).toMatch(/\/security\/reports\//);
      expect(incidents).toMatchObject({ dialogs: [], consoleErrors: [], pageErrors: [] });
    } finally {
      await close();
    }

    // The server never had the clear text: not in any table, not in any file it wrote.
    const tables = await Promise.all((["reports", "attachments", "messages", "jobs", "audit_events"] as const).map((t) => db().selectFrom(t).selectAll().execute()));
    const everything = [JSON.stringify(tables), ...filesUnder(served.dataDir).map((f) => fs.readFileSync(f).toString("latin1"))].join("\n");
    for (const clear of ["reset tokens are predictable", "take over any account", "md5sum"]) expect(everything).not.toContain(clear);

    // What is stored: ciphertext, marked; the title stays readable.
    const row = (await latestReport())!;
    expect(row.title).toBe("Predictable reset tokens");
    expect(Number(row.browser_encrypted)).toBe(1);
    expect(row.description).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(row.steps).toBeNull();
    expect(JSON.stringify(row)).not.toContain("reset tokens are predictable");
    // Line breaks arrive as CRLF, as a form sent in clear would send them.
    expect(team.mustRun(["--decrypt"], row.description)).toBe(DESCRIPTION.replace(/\n/g, "\r\n"));
    expect(team.mustRun(["--decrypt"], row.impact!)).toBe(IMPACT);

    const attachment = await db().selectFrom("attachments").selectAll().where("report_id", "=", row.id).executeTakeFirstOrThrow();
    expect(attachment.filename).toBe("proof.txt.pgp");
    expect(Number(attachment.browser_encrypted)).toBe(1);
    const stored = fs.readFileSync(path.join(served.dataDir, "blobs", attachment.blob_sha256.slice(0, 2), attachment.blob_sha256));
    expect(stored.includes(PROOF)).toBe(false);
    const decrypted = team.runBinary(["--decrypt"], stored);
    expect(decrypted.code, decrypted.stderr).toBe(0);
    expect(decrypted.stdout.equals(PROOF)).toBe(true);
  });

  it("brings a refused encrypted form back with the reporter's clear text in the fields, storing nothing", async () => {
    const before = (await latestReport())?.id;
    const { page, incidents, close } = await newPage(browser);
    try {
      await fillReport(page, "");
      await page.getByLabel(CHECKBOX).check();
      await page.getByRole("button", { name: "Send report" }).click();
      await page.locator("#error-summary").waitFor();
      expect(await page.locator("#title-error").textContent()).toBe("is required");
      expect(await page.getByLabel("Description").inputValue()).toBe(DESCRIPTION);
      expect(await page.getByLabel("Impact").inputValue()).toBe(IMPACT);
      expect(await page.getByLabel(CHECKBOX).isChecked()).toBe(true);
      expect(incidents).toMatchObject({ dialogs: [], consoleErrors: [], pageErrors: [] });
    } finally {
      await close();
    }
    expect((await latestReport())?.id).toBe(before);
  });

  it("offers no encryption without JavaScript, and the form still sends in clear", async () => {
    const { page, close } = await newPage(browser, { javaScriptEnabled: false });
    try {
      await fillReport(page, "Sent without JavaScript");
      expect(await page.getByLabel(CHECKBOX).isVisible()).toBe(false);
      expect(await page.getByLabel(CHECKBOX).isDisabled()).toBe(true);
      await page.getByRole("button", { name: "Send report" }).click();
      await page.waitForURL(`${served.baseUrl}/security/report/received`);
    } finally {
      await close();
    }
    const row = (await latestReport())!;
    expect(row.title).toBe("Sent without JavaScript");
    expect(row.description).toBe(DESCRIPTION.replace(/\n/g, "\r\n"));
    expect(Number(row.browser_encrypted)).toBe(0);
  });
});
