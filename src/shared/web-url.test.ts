import { describe, expect, it } from "vitest";
import { isWebUrl, webUrl } from "./web-url.js";

describe("a link people outside the team follow", () => {
  it("is an http(s) URL with a host", () => {
    for (const ok of ["https://ada.example.org/", "http://ada.example:8080/x?y=1#z", "HTTPS://ADA.EXAMPLE/%0D%0A"]) expect(isWebUrl(ok)).toBe(true);
    for (const bad of ["javascript:alert(1)", "data:text/html,x", "mailto:a@b.example", "//ada.example/", "/security", "https:ada.example", "https://", "ftp://ada.example/", ""]) {
      expect(isWebUrl(bad)).toBe(false);
    }
  });

  it("holds no control character, space or invisible mark anywhere, though a URL parser would drop them", () => {
    for (const hidden of ["\r\n", "\n", "\t", "\u0000", "\u0007", " ", "\u007f", "\u0085", "\u00a0", "\u200b", "\u202e", "\u2028", "\ufeff"]) {
      const url = `https://ada.example.org/${hidden}Set-Cookie:x=1`;
      expect(() => new URL(url)).not.toThrow();
      expect(isWebUrl(url)).toBe(false);
      expect(isWebUrl(`${hidden}https://ada.example.org/`)).toBe(false);
    }
  });

  it("gives a field error that says what is wrong, and keeps the text as sent", () => {
    const schema = webUrl(100);
    expect(schema.safeParse("https://ada.example.org/Path").data).toBe("https://ada.example.org/Path");
    expect(schema.safeParse("javascript:alert(1)").error?.issues.map((i) => i.message)).toEqual(["must be an http(s) URL"]);
    expect(schema.safeParse("https://ada.example.org/\r\nX: y").error?.issues.map((i) => i.message)).toEqual([
      "must not contain spaces, line breaks, tabs or other control characters",
    ]);
    expect(schema.safeParse(`https://ada.example.org/${"a".repeat(100)}`).error?.issues[0]?.message).toBe("must be at most 100 characters");
  });
});
