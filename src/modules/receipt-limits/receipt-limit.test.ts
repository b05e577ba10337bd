import { describe, expect, it } from "vitest";
import { decideReceipt, isOwnAddress, nextFreeSlot, normalizeAddress, shieldAddressesOf } from "./receipt-limit.js";

const limit = { perWindow: 3, windowMs: 3_600_000 };
const at = (minutes: number) => new Date(Date.UTC(2026, 2, 2, 9, minutes));

describe("receipts per recipient", () => {
  it("sends while fewer than the limit went out in the last window", () => {
    const decision = decideReceipt(limit, { recipient: "a@example.org", ownAddresses: [], sentAt: [at(0), at(10)], digestWaiting: false, now: at(20) });
    expect(decision).toEqual({ kind: "send" });
  });

  it("folds a receipt into a digest due when the oldest of the last three leaves the window", () => {
    const decision = decideReceipt(limit, { recipient: "a@example.org", ownAddresses: [], sentAt: [at(10), at(0), at(20)], digestWaiting: false, now: at(30) });
    expect(decision).toEqual({ kind: "fold", digestDueAt: at(60) });
  });

  it("does not count mails older than the window", () => {
    expect(nextFreeSlot(limit, [at(0), at(1), at(2)], new Date(at(62).getTime()))).toEqual(at(62));
    expect(nextFreeSlot(limit, [at(0), at(1), at(2), at(61)], at(62))).toEqual(new Date(at(2).getTime() + limit.windowMs));
  });

  it("folds every later receipt into a waiting digest even when the window has room, so none overtakes it", () => {
    const decision = decideReceipt(limit, { recipient: "a@example.org", ownAddresses: [], sentAt: [], digestWaiting: true, now: at(30) });
    expect(decision).toEqual({ kind: "fold", digestDueAt: at(30) });
  });

  it("never sends to Shield's own addresses, whatever their case, tag or display name", () => {
    const own = shieldAddressesOf({ securityEmail: "security@example.com", supportEmail: "help@example.com" }, "Shield <noreply@example.com>", ["intake@example.com"]);
    for (const recipient of ["security@example.com", " SECURITY+r1234@Example.COM ", "help@example.com", "noreply@example.com", "intake@example.com"]) {
      expect(isOwnAddress(recipient, own), recipient).toBe(true);
      expect(decideReceipt(limit, { recipient, ownAddresses: own, sentAt: [], digestWaiting: false, now: at(0) })).toEqual({ kind: "own_address" });
    }
    expect(isOwnAddress("security@example.org", own)).toBe(false);
    expect(isOwnAddress("researcher@example.com", own)).toBe(false);
  });

  it("compares addresses without case or +tag", () => {
    expect(normalizeAddress("Ada+Shield@Example.ORG")).toBe("ada@example.org");
    expect(normalizeAddress("+only@example.org")).toBe("+only@example.org");
  });
});
