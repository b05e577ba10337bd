import { createHash } from "node:crypto";
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { verifyDummyPassword, verifyPassword } from "./password.hasher.js";

// The real hashing, watched: an unknown e-mail must cost an argon2 verification too.
vi.mock("./password.hasher.js", async (original) => {
  const real = await original<typeof import("./password.hasher.js")>();
  return { ...real, verifyPassword: vi.fn(real.verifyPassword), verifyDummyPassword: vi.fn(real.verifyDummyPassword) };
});
import { forEachDatabase } from "../../../test/databases.js";
import { FakeClock, HOUR, MINUTE } from "../../../test/clock.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, GOOD_PASSWORD, inviteTokenOf, totpCodeAt } from "../../../test/sign-in.js";
import { DomainError } from "../../shared/errors.js";
import { mailsStartingWith, recipientOf } from "../../../test/outbox.js";
import { createShield, type Shield } from "../../main.js";
import { createLogger } from "../../platform/logger.js";
import {
  acceptInvite,
  changePassword,
  confirmTotpEnrolment,
  createInvite,
  describeTotpEnrolment,
  findOpenInvite,
  resumeSession,
  verifyBothFactors,
  verifyPasswordStep,
  verifyRecoveryCodeStep,
  verifyTotpStep,
  type ActiveSession,
} from "./index.js";

/** The code of a domain error a promise rejects with. */
async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  return "no error";
}

forEachDatabase((kind) => {
  let shield: TestShield;
  let clock: FakeClock;
  let ipCounter = 0;
  const freshIp = () => `198.51.100.${++ipCounter}`;

  beforeAll(async () => {
    clock = new FakeClock();
    shield = await createTestShield(kind, { clock });
  });
  afterAll(async () => shield.destroy());

  /** The password step where it must open a half-signed-in session (the account is not limited). */
  const passwordStep = async (input: Parameters<typeof verifyPasswordStep>[1]) => {
    const result = await verifyPasswordStep(shield.auth, input);
    if (result.step !== "second_factor") throw new Error("the account is limited");
    return result;
  };

  const active = async (token: string): Promise<ActiveSession> => {
    const found = await resumeSession(shield.auth, token);
    if (found.state !== "active") throw new Error(`session is ${found.state}`);
    return found;
  };

  /** Password step, then a fresh TOTP step: a complete sign-in; returns the signed-in session token. */
  const signIn = async (email: string, password: string, secret: string, ip = freshIp()) => {
    clock.advance(30_000);
    const { token } = await passwordStep({ email, password, ip });
    return verifyTotpStep(shield.auth, await active(token), { code: await totpCodeAt(secret, clock), ip });
  };

  const auditRows = (action: string) => shield.database.db.selectFrom("audit_events").selectAll().where("action", "=", action).orderBy("seq").execute();

  describe("passwords and authenticators at rest", () => {
    it("stores the password as argon2id and the TOTP secret sealed, never in clear", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "triager");
      const stored = await shield.database.db.selectFrom("user_passwords").selectAll().where("user_id", "=", member.id).executeTakeFirstOrThrow();
      expect(stored.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(stored.hash).not.toContain(password);
      const totp = await shield.database.db.selectFrom("user_totp").selectAll().where("user_id", "=", member.id).executeTakeFirstOrThrow();
      expect(totp.sealed_secret).toMatch(/^v1\./);
      expect(JSON.stringify(totp)).not.toContain(secret);
      const codes = await shield.database.db.selectFrom("recovery_codes").select("code_hash").where("user_id", "=", member.id).execute();
      expect(codes).toHaveLength(10);
    });
  });

  describe("the password step", () => {
    it("opens a half-signed-in session for the right password", async () => {
      const { member, password } = await addEnrolledMember(shield, clock, "viewer");
      const { token } = await passwordStep({ email: member.email.toUpperCase(), password, ip: freshIp() });
      const found = await active(token);
      expect(found.session.kind).toBe("second_factor");
      expect(found.member.id).toBe(member.id);
    });

    it("answers a wrong password and an unknown e-mail with the same error", async () => {
      const { member } = await addEnrolledMember(shield, clock, "viewer");
      const wrong = passwordStep({ email: member.email, password: "not the password at all", ip: freshIp() });
      const unknown = passwordStep({ email: "nobody@team.example.test", password: "not the password at all", ip: freshIp() });
      const messages = await Promise.all([wrong, unknown].map((p) => p.catch((e: Error) => e.message)));
      expect(messages[0]).toBe("The e-mail address or the password is not right.");
      expect(messages[1]).toBe(messages[0]);
    });

    it("checks a password against a stand-in hash for an unknown e-mail, as it does for a known one", async () => {
      const { member } = await addEnrolledMember(shield, clock, "viewer");
      vi.mocked(verifyPassword).mockClear();
      vi.mocked(verifyDummyPassword).mockClear();
      await passwordStep({ email: member.email, password: "wrong password here", ip: freshIp() }).catch(() => {});
      expect(vi.mocked(verifyPassword)).toHaveBeenCalledTimes(1);
      expect(vi.mocked(verifyDummyPassword)).not.toHaveBeenCalled();
      await passwordStep({ email: "ghost@team.example.test", password: "wrong password here", ip: freshIp() }).catch(() => {});
      expect(vi.mocked(verifyDummyPassword)).toHaveBeenCalledTimes(1);
      expect(vi.mocked(verifyPassword)).toHaveBeenCalledTimes(1);
    });

    it("refuses a member whose authenticator was never confirmed, saying how to finish", async () => {
      const { member } = await shield.addMember("triager");
      const invite = await createInvite(shield.auth, { kind: "cli" }, member.email, shield.config.baseUrl);
      await acceptInvite(shield.auth, inviteTokenOf(invite.url), { password: GOOD_PASSWORD, passwordAgain: GOOD_PASSWORD });
      expect(await errorCode(passwordStep({ email: member.email, password: GOOD_PASSWORD, ip: freshIp() }))).toBe("second_factor_missing");
    });
  });

  describe("the second factor", () => {
    it("accepts an authenticator code once, refuses the replay, and accepts the next step's code", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "triager");
      clock.advance(30_000);
      const ip = freshIp();
      const code = await totpCodeAt(secret, clock);
      const first = await passwordStep({ email: member.email, password, ip });
      const signedIn = await verifyTotpStep(shield.auth, await active(first.token), { code, ip });
      expect((await active(signedIn.token)).session.kind).toBe("signed_in");
      expect(signedIn.method).toBe("totp");

      const second = await passwordStep({ email: member.email, password, ip });
      expect(await errorCode(verifyTotpStep(shield.auth, await active(second.token), { code, ip }))).toBe("second_factor_failed");
      clock.advance(30_000);
      const next = await verifyTotpStep(shield.auth, await active(second.token), { code: await totpCodeAt(secret, clock), ip });
      expect((await active(next.token)).member.id).toBe(member.id);
    });

    it("accepts the previous step's code (a slow typist) but not one from two minutes ago", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "viewer");
      clock.advance(5 * MINUTE);
      const previous = await totpCodeAt(secret, clock);
      clock.advance(30_000);
      const ip = freshIp();
      const pending = await passwordStep({ email: member.email, password, ip });
      expect((await verifyTotpStep(shield.auth, await active(pending.token), { code: previous, ip })).method).toBe("totp");

      clock.advance(5 * MINUTE);
      const old = await totpCodeAt(secret, clock);
      clock.advance(2 * MINUTE);
      const again = await passwordStep({ email: member.email, password, ip });
      expect(await errorCode(verifyTotpStep(shield.auth, await active(again.token), { code: old, ip }))).toBe("second_factor_failed");
    });

    it("lets each recovery code sign in once, and counts what is left", async () => {
      const { member, password, recoveryCodes } = await addEnrolledMember(shield, clock, "admin");
      const ip = freshIp();
      const pending = await passwordStep({ email: member.email, password, ip });
      const signedIn = await verifyRecoveryCodeStep(shield.auth, await active(pending.token), { recoveryCode: recoveryCodes[3]!.toUpperCase(), ip });
      expect(signedIn).toMatchObject({ method: "recovery_code", recoveryCodesLeft: 9 });

      const again = await passwordStep({ email: member.email, password, ip });
      expect(await errorCode(verifyRecoveryCodeStep(shield.auth, await active(again.token), { recoveryCode: recoveryCodes[3]!, ip }))).toBe("second_factor_failed");
      expect((await verifyRecoveryCodeStep(shield.auth, await active(again.token), { recoveryCode: recoveryCodes[4]!, ip })).recoveryCodesLeft).toBe(8);
    });

    it("does not accept another member's recovery code", async () => {
      const alice = await addEnrolledMember(shield, clock, "viewer");
      const bob = await addEnrolledMember(shield, clock, "viewer");
      const ip = freshIp();
      const pending = await passwordStep({ email: alice.member.email, password: alice.password, ip });
      expect(await errorCode(verifyRecoveryCodeStep(shield.auth, await active(pending.token), { recoveryCode: bob.recoveryCodes[0]!, ip }))).toBe("second_factor_failed");
    });
  });

  describe("rate limits", () => {
    it("asks for password and code together once an account had 10 failures from anywhere, and signs its member in from a clean address", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "triager");
      for (let i = 0; i < 10; i++) {
        expect(await errorCode(passwordStep({ email: member.email, password: `wrong guess ${i}`, ip: freshIp() }))).toBe("sign_in_failed");
      }
      // The right password alone no longer opens anything, and is not even checked.
      vi.mocked(verifyPassword).mockClear();
      expect(await verifyPasswordStep(shield.auth, { email: member.email, password, ip: freshIp() })).toEqual({ step: "both_factors" });
      expect(await verifyPasswordStep(shield.auth, { email: member.email, password: "an 11th guess", ip: freshIp() })).toEqual({ step: "both_factors" });
      expect(vi.mocked(verifyPassword)).not.toHaveBeenCalled();

      clock.advance(30_000);
      const signedIn = await verifyBothFactors(shield.auth, { email: member.email, password, code: await totpCodeAt(secret, clock), ip: freshIp() });
      expect((await active(signedIn.token)).session.kind).toBe("signed_in");
      expect(signedIn.method).toBe("totp");
    });

    it("answers every failure of password and code together the same, so a guess shows neither factor", async () => {
      const { member, password, secret, recoveryCodes } = await addEnrolledMember(shield, clock, "viewer");
      clock.advance(30_000);
      const code = await totpCodeAt(secret, clock);
      const attempts = [
        { email: member.email, password: "wrong password", code },
        { email: member.email, password, code: "000000" },
        { email: member.email, password, code: "not a code" },
        { email: member.email, password: "wrong password", code: "000000" },
        { email: "nobody@team.example.test", password, code },
      ];
      const errors = [];
      for (const attempt of attempts) {
        try {
          await verifyBothFactors(shield.auth, { ...attempt, ip: freshIp() });
          errors.push("signed in");
        } catch (error) {
          errors.push(`${(error as DomainError).code}: ${(error as Error).message}`);
        }
      }
      expect(new Set(errors)).toEqual(new Set(["both_factors_failed: The e-mail address, the password or the code is not right."]));
      // A recovery code works too, and is spent.
      const withRecovery = await verifyBothFactors(shield.auth, { email: member.email, password, code: recoveryCodes[0]!, ip: freshIp() });
      expect(withRecovery).toMatchObject({ method: "recovery_code", recoveryCodesLeft: 9 });
      expect(await errorCode(verifyBothFactors(shield.auth, { email: member.email, password, code: recoveryCodes[0]!, ip: freshIp() }))).toBe("both_factors_failed");
    });

    it("bounds password guesses to 10 per account per window from all addresses together", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "viewer");
      vi.mocked(verifyPassword).mockClear();
      const answers = [];
      for (let i = 0; i < 30; i++) {
        answers.push(await verifyPasswordStep(shield.auth, { email: member.email, password: i === 25 ? password : `guess ${i}`, ip: freshIp() }).catch((e: DomainError) => e.code));
      }
      expect(vi.mocked(verifyPassword)).toHaveBeenCalledTimes(10);
      expect(answers.slice(0, 10)).toEqual(Array(10).fill("sign_in_failed"));
      expect(answers.slice(10)).toEqual(Array(20).fill({ step: "both_factors" }));
      // The member's own sign-in during the attack gives the guesser no fresh allowance.
      clock.advance(30_000);
      await verifyBothFactors(shield.auth, { email: member.email, password, code: await totpCodeAt(secret, clock), ip: freshIp() });
      expect(await verifyPasswordStep(shield.auth, { email: member.email, password: "guess again", ip: freshIp() })).toEqual({ step: "both_factors" });
      clock.advance(15 * MINUTE + 1000);
      expect((await signIn(member.email, password, secret)).method).toBe("totp");
    });

    it("keeps no lock across a restart: the member signs in from a clean address after it", async () => {
      const own = await createTestShield(kind, { clock });
      let restarted: Shield | undefined;
      try {
        const { member, password, secret } = await addEnrolledMember(own, clock, "triager");
        for (let i = 0; i < 12; i++) await verifyPasswordStep(own.auth, { email: member.email, password: `guess ${i}`, ip: freshIp() }).catch(() => {});
        await own.close();
        restarted = await createShield(own.config, createLogger("silent"), clock);
        expect(await verifyPasswordStep(restarted.auth, { email: member.email, password, ip: freshIp() })).toEqual({ step: "both_factors" });
        clock.advance(30_000);
        const signedIn = await verifyBothFactors(restarted.auth, { email: member.email, password, code: await totpCodeAt(secret, clock), ip: freshIp() });
        expect(signedIn.member.id).toBe(member.id);
      } finally {
        await restarted?.close();
        await own.testDatabase.drop();
        fs.rmSync(own.dataDir, { recursive: true, force: true });
      }
    });

    it("treats an unknown e-mail address the same way, so a limit does not reveal who is on the team", async () => {
      const email = "not-a-member@team.example.test";
      for (let i = 0; i < 10; i++) await verifyPasswordStep(shield.auth, { email, password: `guess ${i}`, ip: freshIp() }).catch(() => {});
      expect(await verifyPasswordStep(shield.auth, { email, password: "guess", ip: freshIp() })).toEqual({ step: "both_factors" });
      expect(await errorCode(verifyBothFactors(shield.auth, { email, password: "guess", code: "123456", ip: freshIp() }))).toBe("both_factors_failed");
    });

    it("locks a client address that tries many accounts, and only that address", async () => {
      const ip = freshIp();
      const { member, password } = await addEnrolledMember(shield, clock, "viewer");
      for (let i = 0; i < 10; i++) await verifyPasswordStep(shield.auth, { email: `spray${i}@team.example.test`, password: "Winter2026!!", ip }).catch(() => {});
      expect(await errorCode(passwordStep({ email: member.email, password, ip }))).toBe("sign_in_locked");
      expect(await errorCode(verifyBothFactors(shield.auth, { email: member.email, password, code: "123456", ip }))).toBe("sign_in_locked");
      await expect(verifyPasswordStep(shield.auth, { email: member.email, password, ip })).rejects.toThrow("Too many failed sign-in attempts from your network. Wait 15 minutes, then try again.");
      expect((await passwordStep({ email: member.email, password, ip: freshIp() })).token).toBeTruthy();
    });

    it("counts wrong codes towards the limits, and a half-signed-in member of a limited account still finishes", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "viewer");
      const ip = freshIp();
      const pending = await active((await passwordStep({ email: member.email, password, ip })).token);
      for (let i = 0; i < 10; i++) expect(await errorCode(verifyTotpStep(shield.auth, pending, { code: String(100000 + i), ip }))).toBe("second_factor_failed");
      expect(await errorCode(verifyTotpStep(shield.auth, pending, { code: "123456", ip }))).toBe("sign_in_locked");
      expect(await verifyPasswordStep(shield.auth, { email: member.email, password, ip: freshIp() })).toEqual({ step: "both_factors" });
      const elsewhere = freshIp();
      clock.advance(30_000);
      const code = await totpCodeAt(secret, clock);
      expect((await verifyBothFactors(shield.auth, { email: member.email, password, code, ip: elsewhere })).method).toBe("totp");
    });

    it("tells the member by mail once a window that their account is under guessing, through the outbox", async () => {
      const { member, password } = await addEnrolledMember(shield, clock, "triager");
      const stranger = await addEnrolledMember(shield, clock, "viewer");
      const jobsFor = async (userId: number) =>
        (await shield.database.db.selectFrom("jobs").select(["kind", "payload"]).where("kind", "=", "mail.sign_in_guessing").execute()).filter((j) => JSON.parse(j.payload).userId === userId);
      for (let i = 0; i < 9; i++) await verifyPasswordStep(shield.auth, { email: member.email, password: `guess ${i}`, ip: freshIp() }).catch(() => {});
      expect(await jobsFor(member.id)).toHaveLength(0);
      await verifyPasswordStep(shield.auth, { email: member.email, password: "guess 9", ip: freshIp() }).catch(() => {});
      expect(await jobsFor(member.id)).toHaveLength(1);
      // Password and code together keep failing: still one mail in this window.
      for (let i = 0; i < 5; i++) await verifyBothFactors(shield.auth, { email: member.email, password, code: "000000", ip: freshIp() }).catch(() => {});
      expect(await jobsFor(member.id)).toHaveLength(1);
      expect(await jobsFor(stranger.member.id)).toHaveLength(0);

      await shield.worker.drain();
      const mails = mailsStartingWith(shield, `sign-in-guessing-${member.id}-`);
      expect(mails).toHaveLength(1);
      expect(recipientOf(mails[0]!)).toBe(member.email);
      expect(mails[0]).toContain("Subject: Failed sign-ins to your Shield account");
      expect(mails[0]).toContain(`10 sign-in attempts to your Shield account (${member.email}) failed within 15 minutes`);
      expect(mails[0]).toContain("the sign-in page asks for your password");
      expect(mails[0]).not.toContain("guess 9");

      clock.advance(15 * MINUTE + 1000);
      for (let i = 0; i < 10; i++) await verifyPasswordStep(shield.auth, { email: member.email, password: `later guess ${i}`, ip: freshIp() }).catch(() => {});
      expect(await jobsFor(member.id)).toHaveLength(2);
      expect((await auditRows("auth.guessing_notice_sent")).filter((e) => e.subject_id === String(member.id))).toHaveLength(2);
    });
  });

  describe("the audit log", () => {
    it("records every attempt with its reason, and never the password or the code", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "triager");
      const ip = freshIp();
      const before = (await shield.database.db.selectFrom("audit_head").select("seq").executeTakeFirstOrThrow()).seq;
      await passwordStep({ email: member.email, password: "a wrong password", ip }).catch(() => {});
      await passwordStep({ email: "stranger@elsewhere.example", password: "another wrong one", ip }).catch(() => {});
      await passwordStep({ email: "hunter2 hunter2", password: "x", ip }).catch(() => {});
      clock.advance(30_000);
      const pending = await active((await passwordStep({ email: member.email, password, ip })).token);
      await verifyTotpStep(shield.auth, pending, { code: "000000", ip }).catch(() => {});
      const code = await totpCodeAt(secret, clock);
      await verifyTotpStep(shield.auth, pending, { code, ip });

      const events = await shield.database.db.selectFrom("audit_events").selectAll().where("seq", ">", before).orderBy("seq").execute();
      expect(events.map((e) => [e.action, JSON.parse(e.data).reason ?? JSON.parse(e.data).method ?? null])).toEqual([
        ["auth.login_failed", "wrong_password"],
        ["auth.login_failed", "unknown_email"],
        ["auth.login_failed", "unknown_email"],
        ["auth.password_verified", null],
        ["auth.second_factor_failed", "wrong_code"],
        ["auth.login_succeeded", "totp"],
      ]);
      expect(JSON.parse(events[1]!.data)).toMatchObject({ email: "stranger@elsewhere.example", ip });
      expect(JSON.parse(events[2]!.data).email).toBe("(not an e-mail address)");
      const everything = JSON.stringify(events);
      for (const secretText of [password, "a wrong password", "another wrong one", "hunter2", code, secret]) expect(everything).not.toContain(secretText);
      expect(events.at(-1)!.actor).toBe(`user:${member.id}:${member.email}`);
    });
  });

  describe("sessions", () => {
    it("end after 30 minutes without a request, and live on while used", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "viewer");
      const { token } = await signIn(member.email, password, secret);
      clock.advance(29 * MINUTE);
      expect((await resumeSession(shield.auth, token)).state).toBe("active");
      clock.advance(29 * MINUTE);
      expect((await resumeSession(shield.auth, token)).state).toBe("active");
      clock.advance(30 * MINUTE);
      expect(await resumeSession(shield.auth, token)).toEqual({ state: "ended", why: "idle" });
      expect((await resumeSession(shield.auth, token)).state).toBe("none");
    });

    it("end 12 hours after sign-in, however active", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "viewer");
      const { token } = await signIn(member.email, password, secret);
      for (let elapsed = 0; elapsed < 12 * HOUR - 20 * MINUTE; elapsed += 20 * MINUTE) {
        clock.advance(20 * MINUTE);
        expect((await resumeSession(shield.auth, token)).state).toBe("active");
      }
      clock.advance(20 * MINUTE);
      expect(await resumeSession(shield.auth, token)).toEqual({ state: "ended", why: "absolute" });
    });

    it("give the half-signed-in state 10 minutes", async () => {
      const { member, password } = await addEnrolledMember(shield, clock, "viewer");
      const { token } = await passwordStep({ email: member.email, password, ip: freshIp() });
      clock.advance(10 * MINUTE);
      expect(await resumeSession(shield.auth, token)).toEqual({ state: "ended", why: "absolute" });
    });

    it("are stored only as a hash of their 256-bit id", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "viewer");
      const { token } = await signIn(member.email, password, secret);
      expect(Buffer.from(token, "base64url")).toHaveLength(32);
      const rows = await shield.database.db.selectFrom("sessions").selectAll().where("user_id", "=", member.id).execute();
      expect(rows.filter((row) => row.token_hash === createHash("sha256").update(token).digest("hex"))).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(token);
    });

    it("all end but the current one when the password changes", async () => {
      const { member, password, secret } = await addEnrolledMember(shield, clock, "triager");
      const laptop = await signIn(member.email, password, secret);
      const phone = await signIn(member.email, password, secret);
      const newPassword = "marble lantern orchard seven";
      await changePassword(shield.auth, await active(laptop.token), { currentPassword: password, password: newPassword, passwordAgain: newPassword, ip: freshIp() });
      expect((await resumeSession(shield.auth, laptop.token)).state).toBe("active");
      expect((await resumeSession(shield.auth, phone.token)).state).toBe("none");
      expect(await errorCode(passwordStep({ email: member.email, password, ip: freshIp() }))).toBe("sign_in_failed");
      expect((await signIn(member.email, newPassword, secret)).method).toBe("totp");
      expect((await auditRows("auth.password_changed")).some((e) => e.subject_id === String(member.id))).toBe(true);
    });
  });

  describe("invites", () => {
    it("work for 48 hours, and only the newest one", async () => {
      const { member } = await shield.addMember("viewer");
      const first = await createInvite(shield.auth, { kind: "cli" }, member.email, shield.config.baseUrl);
      expect(first.url).toMatch(/^https:\/\/security\.example\.test\/invite\/[A-Za-z0-9_-]{43}$/);
      expect(Date.parse(first.expiresAt) - clock.now().getTime()).toBe(48 * HOUR);
      const second = await createInvite(shield.auth, { kind: "cli" }, member.email, shield.config.baseUrl);
      expect(await errorCode(findOpenInvite(shield.auth, inviteTokenOf(first.url)))).toBe("invite_invalid");
      expect((await findOpenInvite(shield.auth, inviteTokenOf(second.url))).member.id).toBe(member.id);
      clock.advance(48 * HOUR);
      expect(await errorCode(findOpenInvite(shield.auth, inviteTokenOf(second.url)))).toBe("invite_invalid");
    });

    it("keep only a hash of the link", async () => {
      const { member } = await shield.addMember("viewer");
      const invite = await createInvite(shield.auth, { kind: "cli" }, member.email, shield.config.baseUrl);
      const rows = await shield.database.db.selectFrom("invites").selectAll().where("user_id", "=", member.id).execute();
      expect(JSON.stringify(rows)).not.toContain(inviteTokenOf(invite.url));
    });

    it("are spent once the authenticator is confirmed", async () => {
      const { member } = await shield.addMember("viewer");
      const invite = await createInvite(shield.auth, { kind: "cli" }, member.email, shield.config.baseUrl);
      const token = inviteTokenOf(invite.url);
      await acceptInvite(shield.auth, token, { password: GOOD_PASSWORD, passwordAgain: GOOD_PASSWORD });
      expect((await findOpenInvite(shield.auth, token)).member.id).toBe(member.id);
      const enrolment = await active((await acceptInvite(shield.auth, token, { password: GOOD_PASSWORD, passwordAgain: GOOD_PASSWORD })).token);
      const { secret } = await describeTotpEnrolment(shield.auth, enrolment);
      await confirmTotpEnrolment(shield.auth, enrolment, { code: await totpCodeAt(secret, clock), ip: freshIp() });
      expect(await errorCode(findOpenInvite(shield.auth, token))).toBe("invite_invalid");
    });

    it("refuse a weak password, saying why", async () => {
      const { member } = await shield.addMember("viewer");
      const invite = await createInvite(shield.auth, { kind: "cli" }, member.email, shield.config.baseUrl);
      try {
        await acceptInvite(shield.auth, inviteTokenOf(invite.url), { password: "password1234", passwordAgain: "password1234" });
        expect.unreachable();
      } catch (error) {
        expect((error as DomainError).fields?.password).toMatch(/too easy to guess.*commonly used password/);
      }
      try {
        await acceptInvite(shield.auth, inviteTokenOf(invite.url), { password: GOOD_PASSWORD, passwordAgain: `${GOOD_PASSWORD}!` });
        expect.unreachable();
      } catch (error) {
        expect((error as DomainError).fields).toEqual({ passwordAgain: "The two passwords are not the same." });
      }
    });
  });
});
