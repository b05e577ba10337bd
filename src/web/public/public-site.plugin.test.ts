import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReportInput } from "../../../test/factories.js";
import { parseHtml } from "../../../test/html.js";
import { createTestDatabase, type TestDatabase } from "../../../test/databases.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { openForm, postForm, reportFormParts } from "../../../test/web-forms.js";
import { loadConfig } from "../../config.js";
import { createShield, type Shield } from "../../main.js";
import { createLogger } from "../../platform/logger.js";
import { siteStylesheet } from "./brand-css.js";
import { updateSetting } from "../../modules/settings/index.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const cli = { kind: "cli" } as const;
const now = { now: () => new Date() };

describe("the public site's look", () => {
  let shield: TestShield;
  beforeAll(async () => {
    shield = await createTestShield("sqlite");
  });
  afterAll(async () => shield.destroy());

  it("serves the brand colour as a stylesheet and refuses a colour that is not #rrggbb", async () => {
    await updateSetting(shield.settings, now, cli, "brandColor", "#FFCC00");
    const css = await shield.app.inject({ method: "GET", url: siteStylesheet("#FFCC00").url });
    expect(css.statusCode).toBe(200);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.body).toContain("--brand: #ffcc00;");
    await expect(updateSetting(shield.settings, now, cli, "brandColor", "red; } body { display:none")).rejects.toMatchObject({ code: "validation_failed" });
    await expect(updateSetting(shield.settings, now, cli, "webhookUrl", "file:///etc/passwd")).rejects.toMatchObject({ code: "validation_failed" });
    await expect(updateSetting(shield.settings, now, cli, "assets", ["a", "a"])).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("shows the company from the settings, a skip link and the four sections in every page's header", async () => {
    await updateSetting(shield.settings, now, cli, "companyName", "Acme <Corp>");
    const doc = parseHtml((await shield.app.inject({ method: "GET", url: "/security/report" })).body);
    expect(doc.querySelector(".brand-company")?.textContent).toBe("Acme <Corp>");
    expect(doc.querySelector("a.skip-link")?.getAttribute("href")).toBe("#main");
    expect(doc.getElementById("main")).not.toBeNull();
    const nav = Array.from(doc.querySelectorAll(".site-nav a")).map((a) => [a.textContent, a.getAttribute("href"), a.getAttribute("aria-current")]);
    expect(nav).toEqual([
      ["Policy", "/security", null],
      ["Report", "/security/report", "page"],
      ["Advisories", "/security/advisories", null],
      ["Thanks", "/security/thanks", null],
    ]);
    // One stylesheet, in the program's colours, named by its content so browsers keep it.
    const links = Array.from(doc.querySelectorAll('link[rel="stylesheet"]')).map((l) => l.getAttribute("href"));
    expect(links).toEqual([expect.stringMatching(/^\/assets\/site\/[0-9a-f]{16}\.css$/)]);
    const css = await shield.app.inject({ method: "GET", url: links[0]! });
    expect(css.statusCode).toBe(200);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(css.body).toContain(".site-header");
    expect(css.body).toContain("--brand: #ffcc00;");

    await updateSetting(shield.settings, now, cli, "brandColor", "#0a7d3b");
    const after = parseHtml((await shield.app.inject({ method: "GET", url: "/security/report" })).body).querySelector('link[rel="stylesheet"]')?.getAttribute("href");
    expect(after).not.toBe(links[0]);
    const old = await shield.app.inject({ method: "GET", url: links[0]! });
    expect(old.headers["cache-control"]).toBe("public, max-age=60");
    expect(old.body).toContain("--brand: #0a7d3b;");
  });

  it("puts no inline script, style or event handler on any of its pages", async () => {
    const form = await openForm(shield, "/security/report");
    const refused = await postForm(shield, "/security/report", form, reportFormParts({ title: "" }));
    const created = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput() });
    const tracking = await shield.app.inject({ method: "GET", url: new URL(created.json().trackingUrl).pathname });
    for (const html of [form.html, refused.body, tracking.body]) {
      const doc = parseHtml(html);
      // Scripts only as files from 'self' (the CSP allows no other); no inline script or style.
      expect(doc.querySelectorAll("script:not([src]), style, [style]")).toHaveLength(0);
      for (const script of Array.from(doc.querySelectorAll("script[src]"))) expect(script.getAttribute("src")).toMatch(/^\/assets\//);
      const handlers = Array.from(doc.querySelectorAll("*")).flatMap((el) => el.getAttributeNames().filter((name) => name.startsWith("on")));
      expect(handlers).toEqual([]);
    }
  });
});

describe("secrets and the logs", () => {
  let database: TestDatabase;
  let shield: Shield;
  let dataDir: string;
  const lines: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-data-"));
    const config = loadConfig({ SHIELD_DATA_DIR: dataDir, DATABASE_URL: database.url, SHIELD_BASE_URL: "https://security.example.test", SHIELD_LOG_LEVEL: "info" });
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    shield = await createShield(config, createLogger("info", sink));
  });
  afterAll(async () => {
    await shield.close();
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("never writes a tracking token or confirmation id to the logs", async () => {
    const page = await shield.app.inject({ method: "GET", url: "/security/report" });
    const session = { cookie: String(page.headers["set-cookie"]).split(";")[0]!, token: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]! };
    const sent = await postForm(shield as unknown as TestShield, "/security/report", session, reportFormParts());
    const confirmationCookie = String(sent.headers["set-cookie"]).split(";")[0]!;
    const confirmation = await shield.app.inject({ method: "GET", url: "/security/report/received", headers: { cookie: confirmationCookie } });
    const link = parseHtml(confirmation.body).querySelector("a.tracking-link")!.getAttribute("href")!;
    const trackingPath = new URL(link).pathname;
    const token = trackingPath.split("/").pop()!;
    const tracking = await shield.app.inject({ method: "GET", url: trackingPath });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(tracking.body)![1]!;
    await postForm(shield as unknown as TestShield, `${trackingPath}/replies`, { cookie: session.cookie, token: csrf }, [{ name: "body", value: "more details" }]);

    const log = lines.join("");
    expect(log).toContain("/security/reports/[redacted]");
    expect(log).not.toContain(token);
    expect(log).not.toContain(confirmationCookie.split("=")[1]);
  });
});
