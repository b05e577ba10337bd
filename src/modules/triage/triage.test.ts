import { describe, expect, it } from "vitest";
import type { CvssDetails } from "../reports/index.js";
import { applyBountyChange, checkUpstreamReference, decideSeverity, diffFields, scoreSimilarity, similarityQueryWords } from "./triage.js";

const v31 = (rating: CvssDetails["rating"]): CvssDetails => ({ vector: "CVSS:3.1/…", score: 1, rating });
const v40 = (rating: CvssDetails["rating"]): CvssDetails => ({ vector: "CVSS:4.0/…", score: 1, rating });

describe("the severity of a report", () => {
  const unset = { severity: null, source: null, cvss31: null, cvss40: null } as const;

  it("follows the CVSS 4.0 vector's rating over the 3.1 one when nobody chose a severity", () => {
    expect(decideSeverity(unset, { cvss31: v31("medium"), cvss40: null })).toEqual({ severity: "medium", source: "cvss31" });
    expect(decideSeverity(unset, { cvss31: v31("medium"), cvss40: v40("high") })).toEqual({ severity: "high", source: "cvss40" });
  });

  it("keeps a severity a person chose when the vectors change", () => {
    const chosen = { severity: "low", source: "explicit", cvss31: v31("medium"), cvss40: null } as const;
    expect(decideSeverity(chosen, { cvss31: v31("critical"), cvss40: null })).toEqual({ severity: "low", source: "explicit" });
  });

  it("keeps a severity set by a transition, even one that came from a vector before", () => {
    expect(decideSeverity({ severity: "high", source: null, cvss31: null, cvss40: null }, { cvss31: v31("low"), cvss40: null })).toEqual({ severity: "high", source: "explicit" });
    expect(decideSeverity({ severity: "low", source: "cvss31", cvss31: v31("medium"), cvss40: null }, { cvss31: v31("critical"), cvss40: null }).severity).toBe("low");
  });

  it("follows the vectors again when the explicit severity is cleared, and is unset without vectors", () => {
    const chosen = { severity: "low", source: "explicit", cvss31: v31("medium"), cvss40: null } as const;
    expect(decideSeverity(chosen, { severity: null, cvss31: v31("medium"), cvss40: null })).toEqual({ severity: "medium", source: "cvss31" });
    expect(decideSeverity({ severity: "medium", source: "cvss31", cvss31: v31("medium"), cvss40: null }, { cvss31: null, cvss40: null })).toEqual({ severity: null, source: null });
  });
});

describe("the bounty of a report", () => {
  const none = { eligible: null, reason: null, amount: null, currency: null, awardedAt: null, paidAt: null };
  const now = new Date("2026-03-02T09:00:00Z");

  it("needs a reason when the report is not eligible", () => {
    expect(applyBountyChange(none, { eligible: false }, "USD", now).problems).toEqual({ "bounty.reason": expect.stringMatching(/say why/) });
    expect(applyBountyChange(none, { eligible: false, reason: "Out of scope: third-party service." }, "USD", now).problems).toEqual({});
  });

  it("gives an amount only to an eligible report, in the program's currency unless another is named", () => {
    expect(applyBountyChange(none, { amount: 500 }, "USD", now).problems["bounty.amount"]).toMatch(/eligible/);
    expect(applyBountyChange(none, { eligible: true, amount: 500 }, "USD", now).bounty).toMatchObject({ amount: 500, currency: "USD" });
    expect(applyBountyChange(none, { eligible: true, amount: 500, currency: "EUR" }, "USD", now).bounty.currency).toBe("EUR");
  });

  it("awards before it pays, and neither in the future", () => {
    const eligible = { ...none, eligible: true, amount: 500, currency: "USD" };
    expect(applyBountyChange(eligible, { paidAt: "2026-03-01T00:00:00.000Z" }, "USD", now).problems["bounty.paidAt"]).toMatch(/awarded before/);
    expect(applyBountyChange(eligible, { awardedAt: "2026-03-01T00:00:00.000Z", paidAt: "2026-02-01T00:00:00.000Z" }, "USD", now).problems["bounty.paidAt"]).toMatch(/before awardedAt/);
    expect(applyBountyChange(eligible, { awardedAt: "2027-01-01T00:00:00.000Z" }, "USD", now).problems["bounty.awardedAt"]).toMatch(/future/);
    expect(applyBountyChange(eligible, { awardedAt: "2026-03-01T00:00:00.000Z", paidAt: "2026-03-02T08:00:00.000Z" }, "USD", now).problems).toEqual({});
  });
});

describe("audit differences", () => {
  it("lists only the fields that changed, with before and after", () => {
    expect(diffFields({ a: 1, b: "x", c: null }, { a: 1, b: "y", c: undefined })).toEqual({ b: { from: "x", to: "y" } });
  });
});

describe("upstream references", () => {
  it("takes http(s) links and identifiers, and refuses other links", () => {
    expect(checkUpstreamReference("https://github.com/rails/rails/security/advisories/GHSA-xxxx")).toBeNull();
    expect(checkUpstreamReference("CVE-2024-1234")).toBeNull();
    expect(checkUpstreamReference("#5123")).toBeNull();
    expect(checkUpstreamReference("javascript:alert(1)")).toMatch(/http\(s\)/);
    expect(checkUpstreamReference("ftp://example.org/x")).toMatch(/http\(s\)/);
    expect(checkUpstreamReference("https:/broken")).toMatch(/valid http\(s\) URL/);
    expect(checkUpstreamReference("https://github.com/x/\r\nSet-Cookie: a=b")).toBe("must not contain spaces, line breaks, tabs or other control characters");
    expect(checkUpstreamReference("https://github.com/x\u0000")).toBe("must not contain spaces, line breaks, tabs or other control characters");
  });
});

describe("similar reports", () => {
  const base = { title: "Stored XSS in the profile name field", description: "The profile name is rendered without escaping on the public profile page.", asset: "app.example.com", cweId: "CWE-79" };

  it("scores a near-duplicate above a report about something else", () => {
    const near = { title: "XSS in profile name", description: "Profile name field is not escaped on the public profile page.", asset: "app.example.com", cweId: null };
    const other = { title: "Password reset token does not expire", description: "The reset link works after a week.", asset: "app.example.com", cweId: "CWE-640" };
    expect(scoreSimilarity(base, near)).toBeGreaterThan(0.5);
    expect(scoreSimilarity(base, other)).toBe(0);
  });

  it("boosts the same asset and the same CWE", () => {
    const text = { title: "XSS in profile", description: "name not escaped", asset: null, cweId: null };
    const plain = scoreSimilarity(base, text);
    expect(scoreSimilarity(base, { ...text, asset: "APP.example.com " })).toBeCloseTo(plain + 0.15, 3);
    expect(scoreSimilarity(base, { ...text, asset: "app.example.com", cweId: "CWE-79" })).toBeCloseTo(plain + 0.3, 3);
  });

  it("looks for candidates with the title's words first and without filler words", () => {
    const words = similarityQueryWords(base);
    expect(words.slice(0, 5)).toEqual(["stored", "xss", "profile", "name", "field"]);
    expect(words).not.toContain("the");
  });
});
