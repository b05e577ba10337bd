import { describe, expect, it } from "vitest";
import { generateSecret, takeRandomBytes } from "./secrets.js";

describe("random bytes from the pool", () => {
  it("never hands out the same bytes twice, across many refills of the pool", () => {
    const seen = new Set<string>();
    // 20 000 tokens of 32 bytes are some 160 refills of the 4 KiB pool.
    for (let i = 0; i < 20_000; i++) seen.add(generateSecret(32));
    expect(seen.size).toBe(20_000);
    expect([...seen].filter((token) => !/^[A-Za-z0-9_-]{43}$/.test(token))).toEqual([]);
  });

  it("gives each caller its own copy, of the size asked for, large sizes included", () => {
    const first = takeRandomBytes(12);
    const copy = Buffer.from(first);
    first.fill(0);
    expect(takeRandomBytes(12).equals(copy)).toBe(false);
    expect(takeRandomBytes(5000)).toHaveLength(5000);
    expect(takeRandomBytes(4000)).toHaveLength(4000);
    // Not all zeros: bytes handed out are cleared in the pool, never the caller's copy.
    expect(takeRandomBytes(64).some((byte) => byte !== 0)).toBe(true);
  });
});
