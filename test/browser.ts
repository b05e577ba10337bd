import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type BrowserContextOptions, type Page } from "playwright-core";
import { describe } from "vitest";
import { loadConfig } from "../src/config.js";
import { createShield, type Shield } from "../src/main.js";
import { createLogger } from "../src/platform/logger.js";
import type { Clock } from "../src/shared/clock.js";
import { createTestDatabase, type TestDatabaseKind } from "./databases.js";

/** The system Chromium driven by playwright-core (no browser download). */
export const CHROMIUM_PATH = process.env.SHIELD_TEST_CHROMIUM ?? "/usr/bin/chromium";

const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/**
 * A suite that needs a real browser. Without Chromium it is skipped with a warning,
 * except under CI=true, where a missing browser fails the run.
 */
export function describeInBrowser(name: string, suite: () => void): void {
  if (fs.existsSync(CHROMIUM_PATH)) {
    describe(name, suite);
    return;
  }
  if (process.env.CI === "true") throw new Error(`Chromium is required under CI=true and was not found at ${CHROMIUM_PATH}`);
  console.warn(`\n!! Chromium not found at ${CHROMIUM_PATH}: browser tests "${name}" are SKIPPED (they fail under CI=true).\n`);
  describe.skip(name, suite);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** A Shield listening on a free port of 127.0.0.1, over a fresh (migrated) database and data directory. */
export interface ServedShield {
  shield: Shield;
  baseUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function serveTestShield(kind: TestDatabaseKind = "sqlite", options: { clock?: Clock; env?: Record<string, string> } = {}): Promise<ServedShield> {
  const database = await createTestDatabase(kind, { migrated: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-browser-"));
  const config = loadConfig({
    SHIELD_DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    SHIELD_HOST: "127.0.0.1",
    SHIELD_PORT: "0",
    SHIELD_LOG_LEVEL: "silent",
    SHIELD_INTAKE_RATE_LIMIT: "1000",
    ...options.env,
  });
  const shield = await createShield(config, createLogger(config.SHIELD_LOG_LEVEL), options.clock);
  const address = await shield.app.listen({ host: "127.0.0.1", port: 0 });
  // Links Shield writes (tracking links) must point at the port it actually got.
  config.baseUrl = address.replace(/\/+$/, "");
  return {
    shield,
    baseUrl: config.baseUrl,
    dataDir,
    async close() {
      await shield.close();
      database.discard();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * What a page did that a user would notice or that shows an attack working: dialogs
 * (alert/confirm/prompt, dismissed at once), console errors (Chromium reports every
 * CSP violation there) and uncaught script errors.
 */
export interface PageIncidents {
  dialogs: string[];
  consoleErrors: string[];
  pageErrors: string[];
  /** Paths answered with an error status ("Failed to load resource"), kept apart: a form sent back with 400 is one. */
  failedLoads: string[];
}

export function watchPage(page: Page): PageIncidents {
  const incidents: PageIncidents = { dialogs: [], consoleErrors: [], pageErrors: [], failedLoads: [] };
  page.on("dialog", (dialog) => {
    incidents.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss().catch(() => {});
  });
  page.on("console", (message) => {
    if (message.type() !== "error" && message.type() !== "warning") return;
    if (message.text().startsWith("Failed to load resource")) incidents.failedLoads.push(new URL(message.location().url).pathname);
    else incidents.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => incidents.pageErrors.push(error.message));
  return incidents;
}

export async function newPage(browser: Browser, options: BrowserContextOptions = {}): Promise<{ page: Page; incidents: PageIncidents; close: () => Promise<void> }> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  return { page, incidents: watchPage(page), close: () => context.close() };
}

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's WCAG 2.1 A and AA rules on the page as it is now: what they find, per rule with the elements (decision 0012). */
export async function wcagViolations(page: Page): Promise<Violation[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
}

/** The report form's fields, by what a reporter reads next to them; one left out is not touched. */
export interface ReportFormInput {
  /** The channel's label (default "Vulnerability report"). */
  kind?: string;
  title: string;
  description: string;
  steps?: string;
  impact?: string;
  name: string;
  email: string;
  creditName?: string;
  /** The answer to "Did you use AI tools?". */
  aiUsed?: "Yes" | "No";
}

/** Fills the report form on `page` as a reporter would: by its labels. */
export async function fillReportForm(page: Page, input: ReportFormInput): Promise<void> {
  await page.getByLabel(input.kind ?? "Vulnerability report").check();
  const fields: Array<[string, string | undefined]> = [
    ["Title", input.title],
    ["Description", input.description],
    ["Steps to reproduce", input.steps],
    ["Impact", input.impact],
    ["Your name", input.name],
    ["Your e-mail address", input.email],
    ["Name to credit", input.creditName],
  ];
  for (const [label, value] of fields) if (value !== undefined) await page.getByLabel(label).fill(value);
  if (input.aiUsed) await page.getByLabel(input.aiUsed, { exact: true }).check();
}
