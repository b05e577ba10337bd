import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, GOOD_PASSWORD, TestBrowser, totpCodeAt, type EnrolledMember } from "../../../test/sign-in.js";
import { openSetupIfNeeded } from "../../modules/people/index.js";

const SESSION = "__Host-shield_session";

/** The text a person reads on the page, whitespace collapsed. */
function textOf(html: string): string {
  return (parseHtml(html).querySelector("main")?.textContent ?? "").replace(/\s+/g, " ").trim();
}

forEachDatabase((kind) => {
  let shield: TestShield;
  let clock: FakeClock;
  let ipCounter = 0;
  const browser = () => new TestBrowser(shield, `192.0.2.${++ipCounter}`);

  beforeAll(async () => {
    clock = new FakeClock();
    shield = await createTestShield(kind, { clock });
  });
  afterAll(async () => shield.destroy());

  /** A browser signed in as the member, at a fresh TOTP step. */
  const signedIn = async (who: EnrolledMember) => {
    clock.advance(30_000);
    const b = browser();
    const done = await b.signIn(who.member.email, who.password, await totpCodeAt(who.secret, clock));
    expect(done.statusCode).toBe(303);
    return b;
  };

  describe("signing in", () => {
    it("takes e-mail, password and the authenticator code, and shows who you are", async () => {
      const triager = await addEnrolledMember(shield, clock, "triager");
      clock.advance(30_000);
      const b = browser();
      const login = await b.get("/login");
      expect(login.statusCode).toBe(200);
      const form = parseHtml(login.body);
      expect(form.querySelector("label[for=email]")?.textContent).toBe("E-mail address");
      expect(form.querySelector("label[for=password]")?.textContent).toBe("Password");

      const first = await b.post("/login", { email: triager.member.email, password: triager.password });
      expect(first.statusCode).toBe(303);
      expect(first.headers.location).toBe("/login/second-factor");
      const codePage = await b.get("/login/second-factor");
      expect(parseHtml(codePage.body).querySelector("label[for=code]")?.textContent).toBe("Authentication code");

      const second = await b.post("/login/second-factor", { code: await totpCodeAt(triager.secret, clock) });
      expect(second.statusCode).toBe(303);
      expect(second.headers.location).toBe("/desk");
      const home = await b.get("/team");
      expect(home.statusCode).toBe(200);
      expect(home.headers["cache-control"]).toBe("no-store");
      const text = textOf(home.body);
      expect(text).toContain(`You are signed in as ${triager.member.name} (${triager.member.email})`);
      expect(parseHtml(home.body).querySelector(".facts dd")?.textContent).toBe("triager: reads and works reports");
      expect(parseHtml(home.body).querySelector('a[href="/team/account"]')).not.toBeNull();
      expect(parseHtml(home.body).querySelector('form[action="/logout"] input[name=_csrf]')).not.toBeNull();
    });

    it("sets the session cookie HttpOnly, SameSite=Lax, Secure, for the whole site, with the __Host- prefix", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = browser();
      await b.get("/login");
      const response = await b.post("/login", { email: viewer.member.email, password: viewer.password });
      const header = ([] as string[]).concat(response.headers["set-cookie"] ?? []).find((c) => c.startsWith(`${SESSION}=`));
      expect(header).toBeDefined();
      const attributes = header!.split(";").slice(1).map((a) => a.trim().toLowerCase());
      expect(attributes).toEqual(expect.arrayContaining(["httponly", "samesite=lax", "secure", "path=/"]));
      expect(attributes.some((a) => a.startsWith("domain"))).toBe(false);
      expect(b.cookies.get(SESSION)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it("gives a new session id after the password and again after the code; the earlier ones stop working", async () => {
      const admin = await addEnrolledMember(shield, clock, "admin");
      const b = await signedIn(admin);
      const before = b.cookies.get(SESSION)!;
      clock.advance(30_000);
      await b.get("/login/second-factor");
      await b.get("/login");
      // A signed-in member is sent on from /login; the form's token comes from a page of this session.
      await b.get("/team");
      const afterPassword = await b.post("/login", { email: admin.member.email, password: admin.password });
      expect(afterPassword.statusCode).toBe(303);
      const pending = b.cookies.get(SESSION)!;
      await b.get("/login/second-factor");
      await b.post("/login/second-factor", { code: await totpCodeAt(admin.secret, clock) });
      const after = b.cookies.get(SESSION)!;
      expect(new Set([before, pending, after]).size).toBe(3);

      for (const old of [before, pending]) {
        const response = await shield.app.inject({ method: "GET", url: "/team", headers: { cookie: `${SESSION}=${old}` } });
        expect(response.statusCode).toBe(303);
        expect(response.headers.location).toMatch(/^\/login/);
      }
      expect((await b.get("/team")).statusCode).toBe(200);
    });

    it("grants nothing while the second factor is pending", async () => {
      const admin = await addEnrolledMember(shield, clock, "admin");
      const b = browser();
      await b.get("/login");
      await b.post("/login", { email: admin.member.email, password: admin.password });
      for (const url of ["/team", "/team/account", "/team/members"]) {
        const response = await b.get(url);
        expect(response.statusCode).toBe(303);
        expect(response.headers.location).toMatch(/^\/login/);
      }
    });

    it("keeps the member on the code page with the error next to the field after a wrong code", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = browser();
      await b.get("/login");
      await b.post("/login", { email: viewer.member.email, password: viewer.password });
      await b.get("/login/second-factor");
      const wrong = await b.post("/login/second-factor", { code: "000000" });
      expect(wrong.statusCode).toBe(401);
      const page = parseHtml(wrong.body);
      expect(page.querySelector("#code")?.getAttribute("aria-invalid")).toBe("true");
      expect(page.querySelector("#code-error")?.textContent).toBe("That code is not right, or it has been used already.");
    });

    it("signs in with a recovery code and then suggests replacing the authenticator", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = browser();
      await b.get("/login");
      await b.post("/login", { email: viewer.member.email, password: viewer.password });
      await b.get("/login/second-factor");
      const done = await b.post("/login/second-factor", { recoveryCode: viewer.recoveryCodes[0]! });
      expect(done.headers.location).toBe("/team/account?done=recovery-code");
      const account = await b.get(done.headers.location as string);
      expect(textOf(account.body)).toContain("You signed in with a recovery code, which is now used up.");
      expect(textOf(account.body)).toContain("9 of 10 unused");
    });

    it("asks for password and code together once strangers failed 10 times on the account, the same way whether or not the address exists", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const pages: string[] = [];
      for (const email of [viewer.member.email, "nobody-here@team.example.test"]) {
        for (let i = 0; i < 10; i++) {
          const stranger = browser();
          await stranger.get("/login");
          expect((await stranger.post("/login", { email, password: `wrong ${i}` })).statusCode).toBe(401);
        }
        const b = browser();
        await b.get("/login");
        const limited = await b.post("/login", { email, password: viewer.password });
        expect(limited.statusCode).toBe(200);
        expect(b.cookies.get(SESSION)).toBeUndefined();
        const form = parseHtml(limited.body);
        expect(form.querySelector("label[for=code]")?.textContent).toBe("Authentication code or recovery code");
        expect(form.querySelector('input[name="factors"]')?.getAttribute("value")).toBe("both");
        pages.push(textOf(limited.body));
      }
      expect(pages[0]).toContain("Many sign-in attempts to this account failed recently, so it needs your password and your second factor together.");
      expect(pages[1]).toBe(pages[0]);
    });

    it("signs a member of a limited account in with password and code together from a clean address; any wrong factor reads the same", async () => {
      const member = await addEnrolledMember(shield, clock, "triager");
      for (let i = 0; i < 10; i++) {
        const stranger = browser();
        await stranger.get("/login");
        await stranger.post("/login", { email: member.member.email, password: `wrong ${i}` });
      }
      const b = browser();
      await b.get("/login");
      await b.post("/login", { email: member.member.email, password: member.password });
      clock.advance(30_000);
      const code = await totpCodeAt(member.secret, clock);
      const errors: string[] = [];
      for (const attempt of [
        { password: "wrong", code },
        { password: member.password, code: "000000" },
      ]) {
        const failed = await b.post("/login", { email: member.member.email, factors: "both", ...attempt });
        expect(failed.statusCode).toBe(401);
        errors.push(parseHtml(failed.body).querySelector(".error-summary")!.textContent!.trim());
        expect(parseHtml(failed.body).querySelector('input[name="factors"]')).not.toBeNull();
      }
      expect(errors).toEqual(["The e-mail address, the password or the code is not right.", "The e-mail address, the password or the code is not right."]);
      const done = await b.post("/login", { email: member.member.email, password: member.password, code, factors: "both" });
      expect(done.statusCode).toBe(303);
      expect(done.headers.location).toBe("/desk");
      expect((await b.get("/team")).statusCode).toBe(200);
    });

    it("tells an address that failed too often to wait, whichever account it names", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = browser();
      for (let i = 0; i < 10; i++) {
        await b.get("/login");
        await b.post("/login", { email: `spray${i}@team.example.test`, password: "Winter2026!!" });
      }
      await b.get("/login");
      const locked = await b.post("/login", { email: viewer.member.email, password: viewer.password });
      expect(locked.statusCode).toBe(429);
      expect(parseHtml(locked.body).querySelector(".error-summary")!.textContent!.trim()).toBe("Too many failed sign-in attempts from your network. Wait 15 minutes, then try again.");
    });
  });

  describe("the passkey calls", () => {
    it("refuse a member without passkeys, and an answer to a challenge this session never got, in JSON", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = browser();
      await b.get("/login");
      await b.post("/login", { email: viewer.member.email, password: viewer.password });
      await b.get("/login/second-factor");
      const options = await b.postJson("/login/passkey/options", {});
      expect(options.statusCode).toBe(401);
      expect(options.json().error).toEqual({ code: "second_factor_failed", message: "You have no passkey yet. Use the code from your authenticator app." });
      const forged = await b.postJson("/login/passkey", { id: "AAAA", rawId: "AAAA", type: "public-key", response: {}, clientExtensionResults: {} });
      expect(forged.statusCode).toBe(401);
      expect(forged.json().error.message).toBe("The passkey request expired. Try again.");
      expect(b.cookies.get(SESSION)).toBeDefined();
      expect((await b.get("/team")).statusCode).toBe(303);
    });

    it("ask for the current password before offering to register a passkey", async () => {
      const triager = await addEnrolledMember(shield, clock, "triager");
      const b = await signedIn(triager);
      await b.get("/team/account");
      const refused = await b.postJson("/team/account/passkeys/options", { currentPassword: "not my password" });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.fields).toEqual({ password: "This is not your current password." });
      const offered = await b.postJson("/team/account/passkeys/options", { currentPassword: triager.password });
      expect(offered.statusCode).toBe(200);
      expect(offered.json()).toMatchObject({ rp: { name: "Shield", id: "security.example.test" }, user: { name: triager.member.email }, attestation: "none" });
    });
  });

  describe("CSRF", () => {
    it("refuses a sign-in form without its token, or with another browser's token, and records no attempt", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const before = (await shield.database.db.selectFrom("audit_head").select("seq").executeTakeFirstOrThrow()).seq;
      const b = browser();
      await b.get("/login");
      const missing = await b.post("/login", { email: viewer.member.email, password: viewer.password }, { csrf: null });
      expect(missing.statusCode).toBe(403);
      expect(textOf(missing.body)).toContain("This form is out of date or did not come from this site");

      const other = browser();
      await other.get("/login");
      const foreign = await b.post("/login", { email: viewer.member.email, password: viewer.password }, { csrf: other.csrf() });
      expect(foreign.statusCode).toBe(403);
      expect(b.cookies.has(SESSION)).toBe(false);
      expect((await shield.database.db.selectFrom("audit_head").select("seq").executeTakeFirstOrThrow()).seq).toBe(before);
    });

    it("keeps the CSRF secret in a __Host- cookie under https: Secure, HttpOnly, for the whole site, no Domain", async () => {
      const response = await browser().get("/login");
      const header = ([] as string[]).concat(response.headers["set-cookie"] ?? []).find((c) => c.startsWith("__Host-shield_csrf="));
      expect(header).toBeDefined();
      const attributes = header!.split(";").slice(1).map((a) => a.trim().toLowerCase());
      expect(attributes).toEqual(expect.arrayContaining(["httponly", "samesite=lax", "secure", "path=/"]));
      expect(attributes.some((a) => a.startsWith("domain"))).toBe(false);
    });

    it("refuses a sign-in token once a session started: a token from before sign-in does not pass with the member's session", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = browser();
      await b.get("/login");
      const before = b.csrf();
      clock.advance(30_000);
      expect((await b.signIn(viewer.member.email, viewer.password, await totpCodeAt(viewer.secret, clock))).statusCode).toBe(303);
      expect((await b.post("/logout", {}, { csrf: before })).statusCode).toBe(403);
      expect((await b.get("/team")).statusCode).toBe(200);
    });

    it("refuses sign-out and account changes without the token", async () => {
      const triager = await addEnrolledMember(shield, clock, "triager");
      const b = await signedIn(triager);
      await b.get("/team/account");
      expect((await b.post("/logout", {}, { csrf: null })).statusCode).toBe(403);
      expect((await b.post("/team/account/recovery-codes", { currentPassword: triager.password }, { csrf: "forged" })).statusCode).toBe(403);
      expect((await b.get("/team")).statusCode).toBe(200);
    });

  });

  describe("access", () => {
    it("sends a signed-out visitor to the sign-in page and back to the page they wanted", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = browser();
      const away = await b.get("/team/account");
      expect(away.statusCode).toBe(303);
      expect(away.headers.location).toBe("/login?next=%2Fteam%2Faccount");
      await b.get(away.headers.location as string);
      await b.post("/login", { email: viewer.member.email, password: viewer.password, next: "/team/account" });
      await b.get("/login/second-factor");
      clock.advance(30_000);
      const done = await b.post("/login/second-factor", { code: await totpCodeAt(viewer.secret, clock) });
      expect(done.headers.location).toBe("/team/account");
    });

    it("does not follow a `next` that leaves the site", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = browser();
      await b.get("/login");
      await b.post("/login", { email: viewer.member.email, password: viewer.password, next: "//evil.example/phish" });
      await b.get("/login/second-factor");
      clock.advance(30_000);
      expect((await b.post("/login/second-factor", { code: await totpCodeAt(viewer.secret, clock) })).headers.location).toBe("/desk");
    });

    it("answers 403 when the role lacks the permission, and lets an admin in", async () => {
      const viewer = await signedIn(await addEnrolledMember(shield, clock, "viewer"));
      const forbidden = await viewer.get("/desk/settings");
      expect(forbidden.statusCode).toBe(403);
      expect(textOf(forbidden.body)).toContain("Your role (viewer) does not allow this page; it needs an admin.");
      const triager = await signedIn(await addEnrolledMember(shield, clock, "triager"));
      expect((await triager.get("/desk/settings")).statusCode).toBe(403);
      const admin = await signedIn(await addEnrolledMember(shield, clock, "admin"));
      const list = await admin.get("/team/members");
      expect(list.statusCode).toBe(200);
      expect(parseHtml(list.body).querySelectorAll("tbody tr").length).toBeGreaterThanOrEqual(3);
    });

    it("keeps the bearer-token API working, and does not take a session cookie as an API credential", async () => {
      const admin = await addEnrolledMember(shield, clock, "admin");
      const api = await shield.app.inject({ method: "GET", url: "/api/v1/reports", headers: { authorization: `Bearer ${admin.apiToken}` } });
      expect(api.statusCode).toBe(200);
      const b = await signedIn(admin);
      const withCookie = await shield.app.inject({ method: "GET", url: "/api/v1/reports", headers: { cookie: b.cookieHeader() } });
      expect(withCookie.statusCode).toBe(401);
    });
  });

  describe("signing out", () => {
    it("deletes the session and clears the cookie", async () => {
      const triager = await addEnrolledMember(shield, clock, "triager");
      const b = await signedIn(triager);
      const stolen = b.cookies.get(SESSION)!;
      await b.get("/team");
      const out = await b.post("/logout", {});
      expect(out.statusCode).toBe(303);
      expect(out.headers.location).toBe("/login?ended=signed_out");
      expect(b.cookies.has(SESSION)).toBe(false);
      const replay = await shield.app.inject({ method: "GET", url: "/team", headers: { cookie: `${SESSION}=${stolen}` } });
      expect(replay.statusCode).toBe(303);
      expect(textOf((await b.get("/login?ended=signed_out")).body)).toContain("You are signed out.");
    });
  });

  describe("the account page", () => {
    it("changes the password after the current one, with errors next to the fields", async () => {
      const triager = await addEnrolledMember(shield, clock, "triager");
      const b = await signedIn(triager);
      await b.get("/team/account");
      const wrongCurrent = await b.post("/team/account/password", { currentPassword: "not it at all", password: "lemon quartz meadow ferry", passwordAgain: "lemon quartz meadow ferry" });
      expect(wrongCurrent.statusCode).toBe(400);
      expect(parseHtml(wrongCurrent.body).querySelector("#pw-current-error")?.textContent).toBe("This is not your current password.");
      const weak = await b.post("/team/account/password", { currentPassword: triager.password, password: "password1234", passwordAgain: "password1234" });
      expect(weak.statusCode).toBe(400);
      expect(parseHtml(weak.body).querySelector("#password-error")?.textContent).toMatch(/too easy to guess/);
      const changed = await b.post("/team/account/password", { currentPassword: triager.password, password: "lemon quartz meadow ferry", passwordAgain: "lemon quartz meadow ferry" });
      expect(changed.headers.location).toBe("/team/account?done=password");
      clock.advance(30_000);
      const again = browser();
      expect((await again.signIn(triager.member.email, "lemon quartz meadow ferry", await totpCodeAt(triager.secret, clock))).statusCode).toBe(303);
    });

    it("makes new recovery codes, shown once, and the old ones stop working", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = await signedIn(viewer);
      await b.get("/team/account");
      const page = await b.post("/team/account/recovery-codes", { currentPassword: viewer.password });
      expect(page.statusCode).toBe(200);
      const codes = [...parseHtml(page.body).querySelectorAll("#recovery-codes code")].map((c) => c.textContent!);
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);

      const other = browser();
      await other.get("/login");
      await other.post("/login", { email: viewer.member.email, password: viewer.password });
      await other.get("/login/second-factor");
      expect((await other.post("/login/second-factor", { recoveryCode: viewer.recoveryCodes[0]! })).statusCode).toBe(401);
      expect((await other.post("/login/second-factor", { recoveryCode: codes[0]! })).statusCode).toBe(303);
    });

    it("replaces the authenticator app only once the new one is confirmed", async () => {
      const admin = await addEnrolledMember(shield, clock, "admin");
      const b = await signedIn(admin);
      await b.get("/team/account");
      const start = await b.post("/team/account/totp", { currentPassword: admin.password });
      expect(start.headers.location).toBe("/team/enrol");
      const enrol = await b.get("/team/enrol");
      const newSecret = parseHtml(enrol.body).querySelector("#totp-secret")!.textContent!.replace(/\s/g, "");
      expect(newSecret).not.toBe(admin.secret);
      expect(parseHtml(enrol.body).querySelector("img.qr")?.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
      clock.advance(30_000);
      expect((await b.post("/team/enrol", { code: "999999" })).statusCode).toBe(400);
      const confirmed = await b.post("/team/enrol", { code: await totpCodeAt(newSecret, clock) });
      expect(confirmed.headers.location).toBe("/team/account?done=totp");

      clock.advance(30_000);
      expect((await browser().signIn(admin.member.email, admin.password, await totpCodeAt(admin.secret, clock))).statusCode).toBe(401);
      clock.advance(30_000);
      expect((await browser().signIn(admin.member.email, admin.password, await totpCodeAt(newSecret, clock))).statusCode).toBe(303);
    });
  });

  describe("invites", () => {
    it("lets an admin make an invite link with which the new member sets a password and an authenticator", async () => {
      const admin = await signedIn(await addEnrolledMember(shield, clock, "admin"));
      const { member } = await shield.addMember("triager");
      await admin.get("/team/members");
      const created = await admin.post(`/team/members/${member.id}/invite`, {});
      expect(created.statusCode).toBe(200);
      const url = parseHtml(created.body).querySelector("#invite-link")!.textContent!;
      expect(url).toMatch(/^https:\/\/security\.example\.test\/invite\//);
      const path = new URL(url).pathname;

      const newcomer = browser();
      const invite = await newcomer.get(path);
      expect(textOf(invite.body)).toContain(`Choose a password for ${member.email}`);
      const short = await newcomer.post(path, { password: "tiny pass", passwordAgain: "tiny pass" });
      expect(short.statusCode).toBe(400);
      expect(parseHtml(short.body).querySelector("#password-error")?.textContent).toBe("Use at least 12 characters (this one has 9).");
      const weak = await newcomer.post(path, { password: "password1234", passwordAgain: "password1234" });
      expect(parseHtml(weak.body).querySelector("#password-error")?.textContent).toMatch(/too easy to guess/);
      const accepted = await newcomer.post(path, { password: GOOD_PASSWORD, passwordAgain: GOOD_PASSWORD });
      expect(accepted.headers.location).toBe("/team/enrol");
      expect((await newcomer.get("/team")).statusCode).toBe(303);
      const enrol = await newcomer.get("/team/enrol");
      const secret = parseHtml(enrol.body).querySelector("#totp-secret")!.textContent!.replace(/\s/g, "");
      const done = await newcomer.post("/team/enrol", { code: await totpCodeAt(secret, clock) });
      expect(done.statusCode).toBe(200);
      expect(parseHtml(done.body).querySelectorAll("#recovery-codes code")).toHaveLength(10);
      expect(parseHtml(done.body).querySelector("#api-token")).toBeNull();
      expect((await newcomer.get("/team")).statusCode).toBe(200);
      expect((await newcomer.get(path)).statusCode).toBe(404);
    });
  });
});

describe("the first-admin setup link", () => {
  let shield: TestShield;
  const clock = new FakeClock();
  beforeAll(async () => {
    shield = await createTestShield("sqlite", { clock });
  });
  afterAll(async () => shield.destroy());

  it("sets the admin's password and enrols TOTP before handing out the API token", async () => {
    const token = await openSetupIfNeeded(shield.database.db, clock);
    const b = new TestBrowser(shield);
    const page = await b.get(`/setup/${token}`);
    expect(page.statusCode).toBe(200);
    const fields = { email: "Grace@Example.com", name: "Grace Hopper" };
    const weak = await b.post(`/setup/${token}`, { ...fields, password: "grace.hopper1906", passwordAgain: "grace.hopper1906" });
    expect(weak.statusCode).toBe(400);
    const form = parseHtml(weak.body);
    expect(form.querySelector("#password-error")?.textContent).toMatch(/contains your e-mail address or name/);
    expect(form.querySelector<HTMLInputElement>("#email")?.value).toBe("Grace@Example.com");
    expect(await shield.database.db.selectFrom("users").selectAll().execute()).toHaveLength(0);

    const created = await b.post(`/setup/${token}`, { ...fields, password: GOOD_PASSWORD, passwordAgain: GOOD_PASSWORD });
    expect(created.statusCode).toBe(303);
    expect(created.headers.location).toBe("/team/enrol");
    expect((await b.get("/team")).statusCode).toBe(303);
    // Not spent by the password step: a browser closed now can open it again.
    expect((await shield.app.inject({ method: "GET", url: `/setup/${token}` })).statusCode).toBe(200);
    expect(await shield.database.db.selectFrom("api_tokens").selectAll().execute()).toHaveLength(0);

    const enrol = await b.get("/team/enrol");
    const secret = parseHtml(enrol.body).querySelector("#totp-secret")!.textContent!.replace(/\s/g, "");
    const done = await b.post("/team/enrol", { code: await totpCodeAt(secret, clock) });
    expect(done.statusCode).toBe(200);
    const result = parseHtml(done.body);
    expect(result.querySelectorAll("#recovery-codes code")).toHaveLength(10);
    const apiToken = result.querySelector("#api-token")!.textContent!;
    expect((await shield.app.inject({ method: "GET", url: `/setup/${token}` })).statusCode).toBe(404);
    const api = await shield.app.inject({ method: "GET", url: "/api/v1/reports", headers: { authorization: `Bearer ${apiToken}` } });
    expect(api.statusCode).toBe(200);
    const home = await b.get("/team");
    expect(parseHtml(home.body).querySelector(".facts dd")?.textContent).toBe("admin: reads and works reports, manages the team and settings");
  });
});
