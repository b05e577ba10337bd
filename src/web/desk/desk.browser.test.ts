import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, launchChromium, newPage, serveTestShield, wcagViolations, type PageIncidents, type ServedShield } from "../../../test/browser.js";
import { buildReportInput } from "../../../test/factories.js";
import type { EnrolledMember } from "../../../test/sign-in.js";
import { addBrowserMember, signInInBrowser } from "../../../test/team-browser.js";
import type { SubmitReportBody } from "../../modules/intake/index.js";

/** Reporter input that tries every way we know to run script or load something from outside. */
const XSS_TITLE = `<script>alert("title")</script><img src=x onerror=alert("title-img")>"'><svg onload=alert(1)>`;
const XSS_BODY = [
  `<script>alert("body")</script>`,
  `<img src=x onerror=alert("img")>`,
  `<svg><script>alert("svg")</script></svg>`,
  `<iframe src="javascript:alert('iframe')"></iframe>`,
  `<a href="javascript:alert('a')">click</a>`,
  `[md link](javascript:alert('md'))`,
  `[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
  `![tracker](https://evil.example/pixel.png)`,
  `<style>body{display:none}</style>`,
  `<div style="background:url(https://evil.example/css.png)">styled</div>`,
  `<meta http-equiv="refresh" content="0;url=https://evil.example/">`,
  `<form action="https://evil.example/"><button>go</button></form>`,
  `{{constructor.constructor('alert("template")')()}} <%= alert("eta") %> \${alert("js")}`,
  `<details open ontoggle=alert("details")>x</details>`,
  "```html\n<script>alert('code')</script>\n```",
].join("\n\n");

describeInBrowser("the desk in Chromium", () => {
  let served: ServedShield;
  let browser: Browser;
  let page: Page;
  let incidents: PageIncidents;
  let closePage: () => Promise<void>;
  let triager: EnrolledMember;
  let colleague: EnrolledMember;
  let viewer: EnrolledMember;
  /** Signs in once, for the accessibility check: a second sign-in of one member in the same 30 s would replay its code. */
  let auditor: EnrolledMember;
  let reader: EnrolledMember;
  const outsideRequests: string[] = [];

  const submit = async (overrides: Partial<SubmitReportBody>): Promise<number> => {
    const response = await fetch(`${served.baseUrl}/api/v1/reports`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(buildReportInput(overrides)) });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: number }).id;
  };

  beforeAll(async () => {
    served = await serveTestShield("sqlite");
    triager = await addBrowserMember(served, "triager");
    colleague = await addBrowserMember(served, "admin");
    viewer = await addBrowserMember(served, "viewer");
    auditor = await addBrowserMember(served, "admin");
    reader = await addBrowserMember(served, "viewer");
    browser = await launchChromium();
  });
  afterAll(async () => {
    await closePage?.();
    await browser?.close();
    await served?.close();
  });

  const openBrowserPage = async () => {
    await closePage?.();
    ({ page, incidents, close: closePage } = await newPage(browser));
    page.on("request", (request) => {
      if (!request.url().startsWith(served.baseUrl)) outsideRequests.push(request.url());
    });
  };

  const signIn = (who: EnrolledMember) => signInInBrowser(page, served.baseUrl, who);

  const cspViolations = () => incidents.consoleErrors.filter((text) => /Content Security Policy/i.test(text));

  it("takes a triager from sign-in to a closed report: acknowledge, triage with CVSS, assign, reply, close", { timeout: 60_000 }, async () => {
    await submit({ channel: "vulnerability", title: "Browser: open redirect" });
    const id = await submit({ channel: "account_attack", title: "Browser: someone is resetting my password" });
    await openBrowserPage();
    // The countdowns and the refresh run on timers; the fake clock moves them on demand.
    await page.clock.install();
    await signIn(triager);

    const firstRow = page.locator("table.queue tbody tr").first();
    expect(await firstRow.getAttribute("data-report-id")).toBe(String(id));
    const countdown = firstRow.locator("time[data-countdown]").first();
    expect(await countdown.textContent()).toMatch(/^1 h 5\d min left$/);
    const before = await countdown.textContent();
    await page.clock.fastForward("02:00");
    await expect.poll(() => countdown.textContent()).not.toBe(before);

    // A report that arrives while the page is open shows up at the next refresh, without a reload.
    const late = await submit({ channel: "account_attack", title: "Browser: arrived while the desk was open" });
    await page.clock.fastForward("00:31");
    await expect.poll(() => page.locator(`tr[data-report-id="${late}"]`).count()).toBe(1);

    await page.getByRole("link", { name: `#${id} Browser: someone is resetting my password` }).click();
    await page.waitForURL(`${served.baseUrl}/desk/reports/${id}`);
    await page.getByRole("button", { name: "Acknowledge", exact: true }).click();
    await page.waitForURL(/done=transition/);
    expect(await page.locator("#report-state").textContent()).toBe("Acknowledged");

    await page.locator("summary", { hasText: "CVSS 3.1 calculator" }).click();
    for (const [metric, value] of Object.entries({ AV: "N", AC: "L", PR: "N", UI: "N", S: "U", C: "H", I: "H", A: "N" })) {
      await page.locator(`#cvss31-${metric}`).selectOption(value);
    }
    expect(await page.getByLabel("CVSS 3.1 vector").inputValue()).toBe("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N");
    await page.getByLabel(/^Weakness/).fill("CWE-640");
    await page.getByLabel("Affected asset").fill("accounts.example.com");
    await page.getByLabel("Also mark the report as triaged").check();
    await page.getByRole("button", { name: "Save assessment" }).click();
    await page.waitForURL(/done=assessment/);
    expect(await page.locator("#report-state").textContent()).toBe("Triaged");
    expect(await page.locator("#cvss31-score").textContent()).toBe("Score 9.1 (critical)");

    await page.getByLabel("Owner").selectOption(colleague.member.email);
    await page.getByRole("button", { name: "Assign" }).click();
    await page.waitForURL(/done=owner/);
    expect(await page.locator("#report-owner").textContent()).toBe(colleague.member.name);

    await page.getByLabel("Your message (Markdown)").fill("We have locked the account and are **investigating**.");
    await page.getByRole("button", { name: "Send to the reporter" }).click();
    await page.waitForURL(/done=reply/);
    expect(await page.locator(".thread .message strong", { hasText: "investigating" }).count()).toBe(1);

    await page.locator("summary", { hasText: "Close as informative" }).click();
    const message = page.locator("#informative-message");
    expect(await message.inputValue()).toMatch(/^Thank you for your report\./);
    await message.fill("Thank you. The account is safe again; nothing in our products needs a fix.");
    await page.getByRole("button", { name: "Close as informative" }).click();
    await page.waitForURL(/done=transition/);
    expect(await page.locator("#report-state").textContent()).toBe("Informative");
    expect(await page.locator("table.audit").textContent()).toContain("triaged → informative");

    expect(incidents.dialogs).toEqual([]);
    expect(incidents.pageErrors).toEqual([]);
    expect(cspViolations()).toEqual([]);
  });

  it("shows a report made of XSS payloads inert: no dialog, no script, no CSP violation, nothing loaded from outside", async () => {
    const id = await submit({
      channel: "vulnerability",
      title: XSS_TITLE,
      description: XSS_BODY,
      steps: XSS_BODY,
      impact: XSS_BODY,
      reporter: { name: `<img src=x onerror=alert("name")>`, email: "xss@example.org" },
      credit: { name: `<script>alert("credit")</script>`, url: "https://evil.example/credit" },
    });
    await openBrowserPage();
    // Another member than the first test's: a TOTP code is accepted once, and both may fall in one 30-second step.
    await signIn(colleague);
    await page.goto(`${served.baseUrl}/desk/reports/${id}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    // The reporter's text is shown as text: every payload reads as written.
    expect(await page.locator("h1 .report-title").textContent()).toBe(XSS_TITLE);
    await page.goto(`${served.baseUrl}/desk?q=${encodeURIComponent("svg onload")}&state=all`);
    expect(await page.locator(`tr[data-report-id="${id}"] .queue-title`).textContent()).toBe(`#${id} ${XSS_TITLE}`);
    await page.goto(`${served.baseUrl}/desk/reports/${id}`);
    await page.waitForLoadState("networkidle");

    const scripts = await page.locator("script").evaluateAll((nodes) => nodes.map((n) => (n as HTMLScriptElement).src));
    expect(scripts).toEqual([`${served.baseUrl}/assets/js/desk.js`]);
    expect(await page.locator("main iframe, main svg, main object, main embed, main style, main meta, .markdown form, .markdown img").count()).toBe(0);
    expect(await page.locator("[onerror], [onload], [ontoggle], [style]").count()).toBe(0);
    const hrefs = await page.locator(".markdown a").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("href")));
    expect(hrefs.every((href) => href === null || /^https?:/.test(href))).toBe(true);
    expect(incidents.dialogs).toEqual([]);
    expect(incidents.pageErrors).toEqual([]);
    expect(cspViolations()).toEqual([]);
    expect(outsideRequests).toEqual([]);
  });

  it("shows a viewer no action buttons, and answers a forged post 403", async () => {
    const id = await submit({ channel: "sensitive", title: "Browser: viewer reads" });
    await openBrowserPage();
    await signIn(viewer);
    await page.goto(`${served.baseUrl}/desk/reports/${id}`);
    expect(await page.locator("main form[method=post]:not(.sign-out)").count()).toBe(0);
    expect(await page.getByRole("button", { name: "Acknowledge" }).count()).toBe(0);
    expect(await page.locator("#read-only").textContent()).toContain("Your role (viewer) reads reports");

    // The page's own CSRF token and the viewer's session: only the role stands in the way.
    const token = await page.locator("form.sign-out input[name=_csrf]").inputValue();
    const forged = await page.request.post(`${served.baseUrl}/desk/reports/${id}/transitions`, { form: { _csrf: token, to: "acknowledged", reason: "forged" }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain("Not allowed");
    const row = await served.shield.database.db.selectFrom("reports").select("state").where("id", "=", id).executeTakeFirstOrThrow();
    expect(row.state).toBe("new");
    expect(incidents.dialogs).toEqual([]);
    expect(cspViolations()).toEqual([]);
  });

  it("loads nothing a reporter's Markdown names, and refuses a desk page Chromium is made to load as an image, auditing no read", async () => {
    const target = await submit({ channel: "sensitive", title: "Browser: the report an image points at" });
    const planted = await submit({ channel: "vulnerability", title: "Browser: planted image", description: `Look: ![a](/desk/reports/${target})` });
    const views = async () =>
      (await served.shield.database.db.selectFrom("audit_events").select("seq").where("action", "=", "report.viewed").where("subject_id", "=", String(target)).execute()).length;
    await openBrowserPage();
    await signIn(reader);
    const requested: string[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === `/desk/reports/${target}`) requested.push(request.resourceType());
    });
    await page.goto(`${served.baseUrl}/desk/reports/${planted}`);
    await page.waitForLoadState("networkidle");
    expect(await page.locator(".markdown img").count()).toBe(0);
    expect(await page.locator(`.markdown a[href="/desk/reports/${target}"]`).textContent()).toBe("image: a");
    expect(requested).toEqual([]);
    expect(await views()).toBe(0);

    // Should an <img> get into a page anyway (here a script adds one), the server refuses it: Chromium says Sec-Fetch-Dest: image.
    const answer = page.waitForResponse((response) => new URL(response.url()).pathname === `/desk/reports/${target}`);
    await page.evaluate((src) => {
      const img = new Image();
      img.src = src;
      document.body.append(img);
    }, `/desk/reports/${target}`);
    const response = await answer;
    expect(await response.request().headerValue("sec-fetch-dest")).toBe("image");
    expect(response.status()).toBe(403);
    expect(requested).toEqual(["image"]);
    expect(await views()).toBe(0);
    expect(cspViolations()).toEqual([]);
  });

  it("meets axe-core's WCAG 2.1 AA rules on the team's pages", { timeout: 120_000 }, async () => {
    const id = await submit({ channel: "vulnerability", title: "Browser: read by the whole team", description: "A **Markdown** description with [a link](https://example.org/)." });
    await openBrowserPage();
    expect(await wcagViolations(await page.goto(`${served.baseUrl}/login`).then(() => page)), "sign-in").toEqual([]);
    await signIn(auditor);
    for (const path of ["/desk", "/desk?state=all&q=browser", `/desk/reports/${id}`, "/desk/metrics", "/desk/settings", "/team", "/team/account", "/team/members"]) {
      expect((await page.goto(`${served.baseUrl}${path}`))?.status(), path).toBe(200);
      expect(await wcagViolations(page), path).toEqual([]);
    }
  });
});
