import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, launchChromium, newPage, serveTestShield, type ServedShield } from "../../../test/browser.js";
import { FakeClock, MINUTE } from "../../../test/clock.js";
import { buildReportInput } from "../../../test/factories.js";
import { parseHtml } from "../../../test/html.js";
import type { TestShield } from "../../../test/shield.js";
import { addEnrolledMember, totpCodeAt, type EnrolledMember } from "../../../test/sign-in.js";
import { addTeamMember, createApiToken, type Role } from "../../modules/people/index.js";
import type { SubmitReportBody } from "../../modules/intake/index.js";
import { checkServiceLevels } from "../../modules/sla/index.js";
import { pagesOfOpenReportClocks } from "../../modules/reports/index.js";

const CHANNELS = ["account_attack", "vulnerability", "sensitive"] as const;
const SEVERITIES = ["critical", "high", "medium", "low", "none"] as const;

/**
 * What a team member, a reporter and the monitoring see of a report's deadlines: the API
 * (one report and the queue order), the desk queue and report page, the tracking page,
 * and the Prometheus figures. Read as served (no script rewrites it), at the fake clock's
 * time, which stands still while the settings change.
 */
interface Seen {
  api: Record<number, unknown>;
  queueOrder: number[];
  deskQueue: Record<number, string[]>;
  deskReport: Record<number, string[]>;
  tracking: Record<number, string[]>;
  metrics: string[];
}

describeInBrowser("changing service levels on the settings page", () => {
  // Now minus 70 minutes: the fake clock reads about the browser's own time when the desk is shown.
  const clock = new FakeClock(new Date(Date.now() - 70 * MINUTE));
  let served: ServedShield;
  let browser: Browser;
  let page: Page;
  let closePage: () => Promise<void>;
  let admin: EnrolledMember;
  const tracking = new Map<number, string>();

  const api = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${served.baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${admin.apiToken}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    expect(response.status, text).toBeLessThan(300);
    return text.startsWith("{") ? JSON.parse(text) : text;
  };
  const submit = async (overrides: Partial<SubmitReportBody>): Promise<number> => {
    const response = await fetch(`${served.baseUrl}/api/v1/reports`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(buildReportInput(overrides)) });
    expect(response.status).toBe(201);
    const { id, trackingUrl } = (await response.json()) as { id: number; trackingUrl: string };
    tracking.set(id, trackingUrl);
    return id;
  };
  const move = (id: number, to: string, extra: Record<string, unknown> = {}) => api("POST", `/api/v1/reports/${id}/transitions`, { to, reason: "test", ...extra });

  const htmlOf = async (url: string) => {
    const response = await page.request.get(`${served.baseUrl}${url}`);
    expect(response.status()).toBe(200);
    return parseHtml(await response.text());
  };
  const textsOf = (nodes: Iterable<Element>) => [...nodes].map((node) => (node.textContent ?? "").replace(/\s+/g, " ").trim());

  const see = async (ids: number[]): Promise<Seen> => {
    const seen: Seen = { api: {}, queueOrder: [], deskQueue: {}, deskReport: {}, tracking: {}, metrics: [] };
    const queue = await htmlOf("/desk");
    for (const id of ids) {
      const { deadlines, nextDeadlineAt } = await api("GET", `/api/v1/reports/${id}`);
      seen.api[id] = { deadlines, nextDeadlineAt };
      const row = queue.querySelector(`tr[data-report-id="${id}"]`);
      seen.deskQueue[id] = row ? [...row.querySelectorAll("time[data-countdown]")].map((t) => `${t.getAttribute("data-state")} ${t.getAttribute("datetime")} ${t.textContent}`) : ["not in the queue"];
      seen.deskReport[id] = textsOf((await htmlOf(`/desk/reports/${id}`)).querySelectorAll("ul.clocks li"));
      const trackingPage = await fetch(tracking.get(id)!);
      seen.tracking[id] = textsOf(parseHtml(await trackingPage.text()).querySelectorAll("dl.facts dt, dl.facts dd"));
    }
    const list = await api("GET", "/api/v1/reports?sort=deadline&limit=100");
    seen.queueOrder = (list.reports as Array<{ id: number }>).map((r) => r.id).filter((id) => ids.includes(id));
    const scrape = (await api("GET", "/metrics")) as string;
    seen.metrics = scrape.split("\n").filter((line) => /^shield_report_(within_target_ratio|target_met|target_missed)\{/.test(line));
    return seen;
  };

  /** Fills a section of /desk/settings as an admin would and saves it. */
  const saveSection = async (section: string, fields: Record<string, string | boolean | string[]>) => {
    await page.goto(`${served.baseUrl}/desk/settings#${section}`);
    const form = page.locator(`form[action="/desk/settings/${section}"]`);
    for (const [name, value] of Object.entries(fields)) {
      if (typeof value === "boolean") await form.locator(`input[name="${name}"]`).setChecked(value);
      else if (Array.isArray(value)) {
        for (const box of await form.locator(`input[name="${name}"]`).all()) await box.setChecked(value.includes((await box.getAttribute("value"))!));
      } else await form.locator(`[name="${name}"]`).fill(value);
    }
    await form.getByRole("button", { name: /^Save/ }).click();
    await page.waitForLoadState();
    expect(await page.locator(".error-summary").count(), await page.locator("main").textContent() ?? "").toBe(0);
  };
  const setTargets = async (hours: string, days: string) => {
    const targets: Record<string, string> = {};
    for (const ch of CHANNELS) targets[`targets.${ch}.firstResponse`] = targets[`targets.${ch}.triage`] = hours;
    await saveSection("targets", targets);
    await saveSection("resolution", Object.fromEntries(SEVERITIES.map((s) => [`resolutionTargets.${s}`, days])));
  };
  const setCalendars = async (on: boolean) => {
    const fields: Record<string, string | boolean | string[]> = {};
    for (const ch of CHANNELS) {
      fields[`calendars.${ch}.enabled`] = on;
      if (on) Object.assign(fields, { [`calendars.${ch}.timeZone`]: "Pacific/Kiritimati", [`calendars.${ch}.workingDays`]: ["sun"], [`calendars.${ch}.opensAt`]: "09:00", [`calendars.${ch}.closesAt`]: "09:30" });
    }
    await saveSection("calendars", fields);
  };
  const minuteCheck = () => checkServiceLevels({ db: served.shield.database.db, clock, events: served.shield.events, settings: served.shield.settings, openReportClocks: pagesOfOpenReportClocks(served.shield.database.db) });

  beforeAll(async () => {
    served = await serveTestShield("sqlite", { clock });
    const asTestShield = {
      ...served.shield,
      async addMember(role: Role, email = `${role}@team.example.test`) {
        const member = await addTeamMember(served.shield.database.db, clock, { kind: "cli" }, { email, role, name: "Ada Admin" });
        const { token } = await createApiToken(served.shield.database.db, clock, { kind: "cli" }, email);
        return { member, token, auth: { authorization: `Bearer ${token}` } };
      },
    } as unknown as TestShield;
    admin = await addEnrolledMember(asTestShield, clock, "admin");
    browser = await launchChromium();
    ({ page, close: closePage } = await newPage(browser));
  });
  afterAll(async () => {
    await closePage?.();
    await browser?.close();
    await served?.close();
  });

  it("leaves every deadline, verdict and figure of the reports already received as it was, and applies to reports received after it", async () => {
    // Answered after 30 minutes, inside the 2-hour promise (the case that turned into "missed 9 min ago").
    const answered = await submit({ channel: "account_attack", title: "Answered account attack" });
    clock.advance(30 * MINUTE);
    await move(answered, "acknowledged", { message: "We are on it." });
    // Triaged with a severity: its resolution clock runs.
    const triaged = await submit({ channel: "vulnerability", title: "Triaged vulnerability" });
    clock.advance(10 * MINUTE);
    await move(triaged, "acknowledged", { message: "Looking." });
    await move(triaged, "triaged", { severity: "high" });
    // Closed: every clock stopped.
    const closed = await submit({ channel: "sensitive", title: "Closed sensitive report" });
    clock.advance(20 * MINUTE);
    await move(closed, "informative");
    // Not answered yet: its first response is due in 1 h 50 min.
    const waiting = await submit({ channel: "account_attack", title: "Waiting account attack" });
    clock.advance(10 * MINUTE);
    const ids = [answered, triaged, closed, waiting];

    clock.advance(30_000);
    await page.goto(`${served.baseUrl}/login`);
    await page.getByLabel("E-mail address").fill(admin.member.email);
    await page.getByLabel("Password", { exact: true }).fill(admin.password);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByLabel("Authentication code").fill(await totpCodeAt(admin.secret, clock));
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`${served.baseUrl}/desk`);

    expect(await minuteCheck()).toMatchObject({ missed: 0, warned: 0 });
    const before = await see(ids);
    expect(before.deskReport[answered]!.join(" ")).toMatch(/met/i);
    expect(before.metrics.some((line) => line.includes('channel="account_attack"') && line.startsWith("shield_report_within_target_ratio") && line.endsWith(" 1"))).toBe(true);
    const settingsPage = await htmlOf("/desk/settings");
    for (const section of ["targets", "resolution", "calendars"]) {
      expect(settingsPage.querySelector(`#${section}`)?.closest("section")?.textContent).toContain("A change applies to reports received after it");
    }

    // Shorter than anything: every target one minute, resolution about a quarter of an hour.
    await setTargets("0.02", "0.01");
    expect(await see(ids)).toEqual(before);
    expect(await minuteCheck()).toMatchObject({ missed: 0, warned: 0 });
    // A report received now is promised the new target.
    const after = await submit({ channel: "account_attack", title: "Received after the change" });
    const promised = await api("GET", `/api/v1/reports/${after}`);
    expect(Date.parse(promised.deadlines.firstResponse) - Date.parse(promised.receivedAt)).toBe(MINUTE);
    const afterSeen = await see([after]);

    // Much longer, and business hours on every channel.
    await setTargets("5000", "900");
    await setCalendars(true);
    expect(await see(ids)).toEqual(before);
    expect((await see([after])).api).toEqual(afterSeen.api);
    expect(await minuteCheck()).toMatchObject({ missed: 0, warned: 0 });

    // And back to the defaults, calendars off.
    await saveSection("targets", {
      "targets.account_attack.firstResponse": "2",
      "targets.account_attack.triage": "4",
      "targets.vulnerability.firstResponse": "72",
      "targets.vulnerability.triage": "240",
      "targets.sensitive.firstResponse": "24",
      "targets.sensitive.triage": "120",
    });
    await saveSection("resolution", { "resolutionTargets.critical": "7", "resolutionTargets.high": "30", "resolutionTargets.medium": "90", "resolutionTargets.low": "180", "resolutionTargets.none": "" });
    await setCalendars(false);
    expect(await see(ids)).toEqual(before);
    expect((await see([after])).api).toEqual(afterSeen.api);

    // The one just received keeps its one-minute promise and misses it when the minute is up; the others stay as they were.
    clock.advance(2 * MINUTE);
    expect(await minuteCheck()).toMatchObject({ missed: 2 }); // its first response and its triage
  }, 180_000);
});
