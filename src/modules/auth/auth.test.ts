import { describe, expect, it } from "vitest";
import { formatRecoveryCode, isAccountLimited, isAddressLocked, normalizeRecoveryCode, normalizeTotpCode, safeNextPath, whySessionEnded } from "./auth.js";

const policy = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 };
const at = (iso: string) => new Date(iso);

describe("session lifetimes", () => {
  const session = { kind: "signed_in" as const, lastSeenAt: "2026-03-02T09:00:00.000Z", expiresAt: "2026-03-02T21:00:00.000Z" };

  it("keeps a signed-in session alive while it is used", () => {
    expect(whySessionEnded(session, policy, at("2026-03-02T09:29:59.000Z"))).toBeNull();
  });

  it("ends a signed-in session after the idle timeout", () => {
    expect(whySessionEnded(session, policy, at("2026-03-02T09:30:00.000Z"))).toBe("idle");
  });

  it("ends any session at its absolute end, however recently it was used", () => {
    expect(whySessionEnded({ ...session, lastSeenAt: "2026-03-02T20:59:00.000Z" }, policy, at("2026-03-02T21:00:00.000Z"))).toBe("absolute");
  });

  it("gives half-signed-in sessions only their short absolute end", () => {
    const pending = { kind: "second_factor" as const, lastSeenAt: "2026-03-02T09:00:00.000Z", expiresAt: "2026-03-02T09:10:00.000Z" };
    expect(whySessionEnded(pending, policy, at("2026-03-02T09:09:00.000Z"))).toBeNull();
    expect(whySessionEnded(pending, policy, at("2026-03-02T09:10:00.000Z"))).toBe("absolute");
  });
});

describe("the sign-in limits", () => {
  const limits = { maxFailures: 10, windowMs: 15 * 60_000 };
  it("locks an address that has used up its failures, and limits an account that has", () => {
    expect(isAddressLocked(9, limits)).toBe(false);
    expect(isAddressLocked(10, limits)).toBe(true);
    expect(isAccountLimited(9, limits)).toBe(false);
    expect(isAccountLimited(10, limits)).toBe(true);
  });
});

describe("where to go after sign-in", () => {
  it("accepts paths on this site", () => {
    expect(safeNextPath("/team/account")).toBe("/team/account");
    expect(safeNextPath("/desk?state=new&page=2")).toBe("/desk?state=new&page=2");
  });

  it("refuses anything that could leave the site or loop", () => {
    for (const bad of ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "team", "/login", "/logout", 42, undefined, "/a b"]) {
      expect(safeNextPath(bad)).toBeNull();
    }
  });
});

describe("recovery codes", () => {
  it("are 16 unambiguous characters in four groups", () => {
    const code = formatRecoveryCode(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    expect(formatRecoveryCode(new Uint8Array(10).fill(255))).toBe("zzzz-zzzz-zzzz-zzzz");
  });

  it("are read back in any case, with or without dashes, and with look-alike letters", () => {
    const code = formatRecoveryCode(new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]));
    expect(normalizeRecoveryCode(code.toUpperCase())).toBe(code);
    expect(normalizeRecoveryCode(` ${code.replace(/-/g, " ")} `)).toBe(code);
    expect(normalizeRecoveryCode("0000-0000-0000-0001".replace(/0/g, "O").replace(/1/g, "l"))).toBe("0000-0000-0000-0001");
    expect(normalizeRecoveryCode("not a code")).toBeNull();
  });

  it("reads a TOTP code with spaces and refuses anything but six digits", () => {
    expect(normalizeTotpCode("123 456")).toBe("123456");
    expect(normalizeTotpCode("12345")).toBeNull();
    expect(normalizeTotpCode("12345a")).toBeNull();
  });
});
