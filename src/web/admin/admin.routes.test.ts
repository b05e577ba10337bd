import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, TestBrowser, totpCodeAt, type EnrolledMember } from "../../../test/sign-in.js";

/** What a person reads next to a field: its error text, or undefined. */
function errorOf(html: string, field: string): string | undefined {
  return parseHtml(html).querySelector(`#f-${field.replace(/\./g, "-")}-error`)?.textContent ?? undefined;
}

/** The value a field shows. */
function valueOf(html: string, field: string): string | undefined {
  const el = parseHtml(html).querySelector(`#f-${field.replace(/\./g, "-")}`) as HTMLInputElement | HTMLTextAreaElement | null;
  return el?.value;
}

/** The fields of the form posting to `action`, as the browser would send them unchanged. */
function formOf(html: string, action: string): Array<[string, string]> {
  const form = parseHtml(html).querySelector(`form[action="${action}"]`);
  if (!form) throw new Error(`no form ${action}`);
  const out: Array<[string, string]> = [];
  for (const el of form.querySelectorAll("input, textarea, select")) {
    const input = el as HTMLInputElement;
    if ((input.type === "checkbox" || input.type === "radio") && !input.checked) continue;
    out.push([input.name, input.value]);
  }
  return out;
}

forEachDatabase((kind) => {
  let shield: TestShield;
  let clock: FakeClock;
  let admin: EnrolledMember;
  let ip = 0;

  beforeAll(async () => {
    clock = new FakeClock();
    shield = await createTestShield(kind, { clock });
    admin = await addEnrolledMember(shield, clock, "admin");
  });
  afterAll(async () => shield.destroy());

  const signedIn = async (who: EnrolledMember) => {
    clock.advance(30_000);
    const b = new TestBrowser(shield, `198.51.100.${++ip}`);
    expect((await b.signIn(who.member.email, who.password, await totpCodeAt(who.secret, clock))).statusCode).toBe(303);
    return b;
  };

  /** Opens the settings page, changes some fields of one form and sends it as the browser would. */
  const submit = async (b: TestBrowser, section: string, changes: Record<string, string | string[]>): Promise<LightMyRequestResponse> => {
    const page = await b.get("/desk/settings");
    expect(page.statusCode).toBe(200);
    const action = `/desk/settings/${section}`;
    const fields = formOf(page.body, action).filter(([name]) => !(name in changes));
    for (const [name, value] of Object.entries(changes)) for (const v of Array.isArray(value) ? value : [value]) fields.push([name, v]);
    const res = await shield.app.inject({
      method: "POST",
      url: action,
      payload: new URLSearchParams(fields).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: b.cookieHeader() },
      remoteAddress: b.remoteAddress,
    });
    if (String(res.headers["content-type"] ?? "").startsWith("text/html")) b.lastPage = res.body;
    return res;
  };

  const savedPage = async (b: TestBrowser, res: LightMyRequestResponse, section: string) => {
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/desk/settings?saved=${section}#${section}`);
    const page = await b.get("/desk/settings?saved=" + section);
    expect(parseHtml(page.body).querySelector(".notice.success")?.textContent).toMatch(/saved/);
    return page.body;
  };

  describe("who may see the settings", () => {
    it("answers a triager with 403, for the page and for a form", async () => {
      const triager = await addEnrolledMember(shield, clock, "triager");
      const b = await signedIn(triager);
      const page = await b.get("/desk/settings");
      expect(page.statusCode).toBe(403);
      await b.get("/team");
      const post = await b.post("/desk/settings/program", { programName: "Hijacked" });
      expect(post.statusCode).toBe(403);
      expect((await shield.settings.get()).programName).not.toBe("Hijacked");
    });

    it("sends a visitor who is not signed in to sign in, and refuses a form without its CSRF token", async () => {
      const res = await shield.app.inject({ method: "GET", url: "/desk/settings" });
      expect(res.statusCode).toBe(303);
      const b = await signedIn(admin);
      await b.get("/desk/settings");
      const forged = await b.post("/desk/settings/program", { programName: "Forged" }, { csrf: null });
      expect(forged.statusCode).toBe(403);
      expect((await shield.settings.get()).programName).not.toBe("Forged");
    });
  });

  describe("program and contacts", () => {
    it("saves the names, contacts and brand colour, shows them and audits the change", async () => {
      const b = await signedIn(admin);
      const res = await submit(b, "program", { programName: "Acme Security", companyName: "Acme Ltd", securityEmail: "psirt@acme.test", supportUrl: "https://help.acme.test", brandColor: "#aa3300", webhookUrl: "", timeZone: "Europe/Berlin" });
      const page = await savedPage(b, res, "program");
      expect(valueOf(page, "timeZone")).toBe("Europe/Berlin");
      expect(valueOf(page, "programName")).toBe("Acme Security");
      expect(valueOf(page, "securityEmail")).toBe("psirt@acme.test");
      expect(valueOf(page, "brandColor")).toBe("#aa3300");
      const audit = await shield.database.db.selectFrom("audit_events").select(["subject_id", "actor"]).where("action", "=", "setting.updated").execute();
      expect(audit.map((a) => a.subject_id)).toEqual(expect.arrayContaining(["programName", "companyName", "securityEmail", "supportUrl", "brandColor", "timeZone"]));
      expect(audit.map((a) => a.subject_id)).not.toContain("supportEmail");
    });

    it("refuses an invalid address and colour, names the fields and keeps what was typed", async () => {
      const b = await signedIn(admin);
      const res = await submit(b, "program", { securityEmail: "not an address", brandColor: "red", programName: "Kept Name", companyName: " " });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.body, "securityEmail")).toBe("Security e-mail: must be an e-mail address such as security@example.com");
      expect(errorOf(res.body, "brandColor")).toMatch(/hex colour/);
      expect(errorOf(res.body, "companyName")).toBe("Company name: is required");
      expect(valueOf(res.body, "securityEmail")).toBe("not an address");
      expect(valueOf(res.body, "programName")).toBe("Kept Name");
      expect(parseHtml(res.body).querySelector("#f-securityEmail")?.getAttribute("aria-invalid")).toBe("true");
      expect((await shield.settings.get()).programName).not.toBe("Kept Name");
    });

    it("refuses a support or webhook URL that is not http(s) or holds a line break, naming the field", async () => {
      const b = await signedIn(admin);
      const before = await shield.settings.get();
      const script = await submit(b, "program", { supportUrl: "javascript:alert(document.cookie)" });
      expect(script.statusCode).toBe(400);
      expect(errorOf(script.body, "supportUrl")).toBe("Support URL: must be an http(s) URL");
      expect(valueOf(script.body, "supportUrl")).toBe("javascript:alert(document.cookie)");
      const crlf = await submit(b, "program", { supportUrl: "https://help.acme.test/\r\nSet-Cookie: a=b", webhookUrl: "https://hooks.acme.test/\tx" });
      expect(crlf.statusCode).toBe(400);
      expect(errorOf(crlf.body, "supportUrl")).toBe("Support URL: must not contain spaces, line breaks, tabs or other control characters");
      expect(errorOf(crlf.body, "webhookUrl")).toBe("Webhook URL: must not contain spaces, line breaks, tabs or other control characters");
      const after = await shield.settings.get();
      expect([after.supportUrl, after.webhookUrl]).toEqual([before.supportUrl, before.webhookUrl]);
    });
  });

  describe("service levels", () => {
    it("saves response targets in hours and resolution targets in days", async () => {
      const b = await signedIn(admin);
      const page = await savedPage(b, await submit(b, "targets", { "targets.vulnerability.firstResponse": "48", "targets.sensitive.triage": "" }), "targets");
      expect(valueOf(page, "targets.vulnerability.firstResponse")).toBe("48");
      expect(valueOf(page, "targets.sensitive.triage")).toBe("");
      const settings = await shield.settings.get();
      expect(settings.targets.vulnerability.firstResponse).toBe(48 * 60);
      expect(settings.targets.sensitive.triage).toBeNull();

      const again = await savedPage(b, await submit(b, "resolution", { "resolutionTargets.critical": "3" }), "resolution");
      expect(valueOf(again, "resolutionTargets.critical")).toBe("3");
      expect((await shield.settings.get()).resolutionTargets.critical).toBe(3 * 24 * 60);
    });

    it("refuses a target that is not a positive number, naming the field", async () => {
      const b = await signedIn(admin);
      const res = await submit(b, "targets", { "targets.account_attack.firstResponse": "-2" });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res.body, "targets.account_attack.firstResponse")).toBe("First response (hours): must be a positive number of hours, or empty for no target");
      expect(valueOf(res.body, "targets.account_attack.firstResponse")).toBe("-2");
    });

    it("saves business hours for a channel, and refuses an unknown time zone and hours that close before they open", async () => {
      const b = await signedIn(admin);
      const bad = await submit(b, "calendars", {
        "calendars.vulnerability.enabled": "on",
        "calendars.vulnerability.timeZone": "Mars/Olympus",
        "calendars.vulnerability.opensAt": "17:00",
        "calendars.vulnerability.closesAt": "09:00",
      });
      expect(bad.statusCode).toBe(400);
      expect(errorOf(bad.body, "calendars.vulnerability.timeZone")).toMatch(/IANA time zone/);
      expect(errorOf(bad.body, "calendars.vulnerability.closesAt")).toMatch(/close after it opens/);

      const res = await submit(b, "calendars", {
        "calendars.vulnerability.enabled": "on",
        "calendars.vulnerability.timeZone": "Europe/Berlin",
        "calendars.vulnerability.workingDays": ["mon", "tue", "wed"],
        "calendars.vulnerability.opensAt": "08:30",
        "calendars.vulnerability.closesAt": "16:00",
        "calendars.vulnerability.holidays": "2026-12-24\n2026-12-25",
      });
      const page = await savedPage(b, res, "calendars");
      expect(valueOf(page, "calendars.vulnerability.timeZone")).toBe("Europe/Berlin");
      expect(valueOf(page, "calendars.vulnerability.holidays")).toBe("2026-12-24\n2026-12-25");
      const checked = [...parseHtml(page).querySelectorAll('input[name="calendars.vulnerability.workingDays"]:checked')].map((i) => (i as HTMLInputElement).value);
      expect(checked).toEqual(["mon", "tue", "wed"]);
      expect((await shield.settings.get()).calendars.vulnerability).toEqual({
        timeZone: "Europe/Berlin",
        workingDays: ["mon", "tue", "wed"],
        opensAt: "08:30",
        closesAt: "16:00",
        holidays: ["2026-12-24", "2026-12-25"],
      });
      expect((await shield.settings.get()).calendars.sensitive).toBeNull();
    });
  });

  describe("bounty table, canned responses and assets", () => {
    it("saves each and shows the new values", async () => {
      const b = await signedIn(admin);
      let page = await savedPage(b, await submit(b, "bounty", { "bountyTable.currency": "EUR", "bountyTable.critical": "7500" }), "bounty");
      expect(valueOf(page, "bountyTable.currency")).toBe("EUR");
      expect(valueOf(page, "bountyTable.critical")).toBe("7500");
      page = await savedPage(b, await submit(b, "canned", { "cannedResponses.spam": "Closed as spam <not rendered>." }), "canned");
      expect(valueOf(page, "cannedResponses.spam")).toBe("Closed as spam <not rendered>.");
      expect(page).not.toContain("<not rendered>");
      page = await savedPage(b, await submit(b, "assets", { assets: "app.acme.test\n\nAPI\n" }), "assets");
      expect(valueOf(page, "assets")).toBe("app.acme.test\nAPI");
      expect((await shield.settings.get()).assets).toEqual(["app.acme.test", "API"]);
    });

    it("refuses a bad currency, an empty canned response and a repeated asset, naming each field", async () => {
      const b = await signedIn(admin);
      expect(errorOf((await submit(b, "bounty", { "bountyTable.currency": "euro", "bountyTable.low": "lots" })).body, "bountyTable.currency")).toMatch(/ISO 4217/);
      expect(errorOf(b.lastPage, "bountyTable.low")).toMatch(/amount/);
      const canned = await submit(b, "canned", { "cannedResponses.duplicate": "  " });
      expect(canned.statusCode).toBe(400);
      expect(errorOf(canned.body, "cannedResponses.duplicate")).toMatch(/^Duplicate: /);
      expect(errorOf((await submit(b, "assets", { assets: "API\nAPI" })).body, "assets")).toMatch(/must not repeat an asset/);
    });
  });
});
