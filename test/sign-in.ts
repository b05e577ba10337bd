import type { LightMyRequestResponse } from "fastify";
import { generate } from "otplib";
import { acceptInvite, confirmTotpEnrolment, createInvite, describeTotpEnrolment, resumeSession } from "../src/modules/auth/index.js";
import type { Role, TeamMember } from "../src/modules/people/index.js";
import type { Clock } from "../src/shared/clock.js";
import type { TestShield } from "./shield.js";

/** A password zxcvbn scores 4 and no test will type by accident. */
export const GOOD_PASSWORD = "violet kettle harbour ninety";

/** The TOTP code an authenticator app shows at the clock's time. */
export function totpCodeAt(secret: string, clock: Clock): Promise<string> {
  return generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) });
}

/** The invite token at the end of an invite URL. */
export function inviteTokenOf(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

export interface EnrolledMember {
  member: TeamMember;
  password: string;
  secret: string;
  recoveryCodes: string[];
  /** The bearer token `addMember` made; the API keeps working beside sessions. */
  apiToken: string;
}

/**
 * A member who went through the invite as a person would (password, TOTP confirmed,
 * recovery codes kept), through the services. The clock should be a FakeClock: the
 * enrolment uses the current TOTP step, so move it 30 s before signing in with a code.
 */
export async function addEnrolledMember(shield: TestShield, clock: Clock, role: Role, password = GOOD_PASSWORD): Promise<EnrolledMember> {
  const { member, token } = await shield.addMember(role);
  const invite = await createInvite(shield.auth, { kind: "cli" }, member.email, shield.config.baseUrl);
  const accepted = await acceptInvite(shield.auth, inviteTokenOf(invite.url), { password, passwordAgain: password });
  const found = await resumeSession(shield.auth, accepted.token);
  if (found.state !== "active") throw new Error("the enrolment session did not start");
  const { secret } = await describeTotpEnrolment(shield.auth, found);
  const result = await confirmTotpEnrolment(shield.auth, found, { code: await totpCodeAt(secret, clock), ip: "127.0.0.1" });
  if (result.kind !== "first") throw new Error("expected a first enrolment");
  return { member, password, secret, recoveryCodes: result.recoveryCodes, apiToken: token };
}

/**
 * A browser for `app.inject`: keeps cookies as a browser would (set, replaced, deleted by
 * Max-Age=0), sends them back, and fills each form's CSRF field from the last page.
 */
export class TestBrowser {
  readonly cookies = new Map<string, string>();
  lastPage = "";

  constructor(
    private readonly shield: TestShield,
    readonly remoteAddress = "203.0.113.10",
  ) {}

  private absorb(response: LightMyRequestResponse): LightMyRequestResponse {
    const header = response.headers["set-cookie"];
    const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
    for (const line of list) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split("=")[1]!) < Date.now()));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    if (String(response.headers["content-type"] ?? "").startsWith("text/html")) this.lastPage = response.body;
    return response;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  csrf(): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(this.lastPage);
    if (!match) throw new Error("no CSRF token on the last page");
    return match[1]!;
  }

  async get(url: string, options: { headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
    return this.absorb(await this.shield.app.inject({ method: "GET", url, headers: { cookie: this.cookieHeader(), ...options.headers }, remoteAddress: this.remoteAddress }));
  }

  /** Posts a form as the page's form would: urlencoded, with the page's CSRF token unless `csrf` says otherwise. */
  async post(url: string, fields: Record<string, string>, options: { csrf?: string | null; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
    const token = options.csrf === undefined ? this.csrf() : options.csrf;
    const body = new URLSearchParams({ ...(token === null ? {} : { _csrf: token }), ...fields }).toString();
    return this.absorb(
      await this.shield.app.inject({
        method: "POST",
        url,
        payload: body,
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: this.cookieHeader(), ...options.headers },
        remoteAddress: this.remoteAddress,
      }),
    );
  }

  /** A fetch from the passkey script: JSON, the CSRF token in a header. */
  async postJson(url: string, body: unknown): Promise<LightMyRequestResponse> {
    return this.absorb(
      await this.shield.app.inject({
        method: "POST",
        url,
        payload: JSON.stringify(body),
        headers: { "content-type": "application/json", "x-csrf-token": this.csrf(), cookie: this.cookieHeader() },
        remoteAddress: this.remoteAddress,
      }),
    );
  }

  /** E-mail and password, then the TOTP code: the whole sign-in. */
  async signIn(email: string, password: string, code: string): Promise<LightMyRequestResponse> {
    await this.get("/login");
    const first = await this.post("/login", { email, password });
    if (first.statusCode !== 303) throw new Error(`password step answered ${first.statusCode}`);
    await this.get("/login/second-factor");
    return this.post("/login/second-factor", { code });
  }
}
