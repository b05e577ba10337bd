import { describe, expect, it } from "vitest";
import { classifyContent, contentDispositionFor, describeBytes, sanitizeFilename } from "./attachment.js";

describe("what an attachment may be", () => {
  it("accepts images, PDF, archives and video by their detected type", () => {
    for (const mime of ["image/png", "image/jpeg", "application/pdf", "application/zip", "application/x-tar", "application/gzip", "video/mp4", "video/webm"]) {
      expect(classifyContent({ mime, isUtf8Text: false })).toEqual({ ok: true, contentType: mime });
    }
  });

  it("accepts text only as UTF-8 and records it as text/plain", () => {
    expect(classifyContent({ mime: null, isUtf8Text: true })).toEqual({ ok: true, contentType: "text/plain" });
    expect(classifyContent({ mime: "application/xml", isUtf8Text: true })).toEqual({ ok: true, contentType: "text/plain" });
    expect(classifyContent({ mime: null, isUtf8Text: false })).toEqual({ ok: false, why: "is unknown binary data (text must be UTF-8)" });
  });

  it("names executables as such when refusing them", () => {
    expect(classifyContent({ mime: "application/x-msdownload", isUtf8Text: false })).toEqual({ ok: false, why: "is a Windows program; executables are refused" });
    expect(classifyContent({ mime: "application/x-elf", isUtf8Text: false })).toMatchObject({ ok: false, why: expect.stringContaining("Linux program") });
    expect(classifyContent({ mime: "application/java-archive", isUtf8Text: false })).toMatchObject({ ok: false });
  });

  it("refuses other known types, naming the type", () => {
    expect(classifyContent({ mime: "application/x-sqlite3", isUtf8Text: false })).toEqual({ ok: false, why: "is of a type that is not accepted (application/x-sqlite3)" });
  });
});

describe("download names", () => {
  it("drops paths, control and direction-override characters and leading dots", () => {
    expect(sanitizeFilename("../../etc/passwd")).toBe("_.._etc_passwd");
    expect(sanitizeFilename(".htaccess")).toBe("htaccess");
    expect(sanitizeFilename("a\r\nb\u0000c\u202ed")).toBe("abcd");
    expect(sanitizeFilename("  \u200f ")).toBe("attachment");
    expect(sanitizeFilename("x".repeat(400))).toHaveLength(150);
  });

  it("offers an ASCII fallback and the exact name in RFC 5987 form", () => {
    expect(contentDispositionFor('report "final"; v2.pdf')).toBe(`attachment; filename="report _final__ v2.pdf"; filename*=UTF-8''report%20%22final%22%3B%20v2.pdf`);
    expect(contentDispositionFor("日本.txt")).toBe(`attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`);
    expect(contentDispositionFor("it's (1)*.txt")).toBe(`attachment; filename="it's (1)*.txt"; filename*=UTF-8''it%27s%20%281%29%2A.txt`);
  });

  it("never lets a lone surrogate break the header", () => {
    expect(contentDispositionFor("a\ud800b")).toBe(`attachment; filename="a_b"; filename*=UTF-8''a%EF%BF%BDb`);
  });
});

describe("sizes in words", () => {
  it("reads like an upload limit", () => {
    expect(describeBytes(10 * 1024 * 1024)).toBe("10 MB");
    expect(describeBytes(25 * 1024 * 1024)).toBe("25 MB");
    expect(describeBytes(1536)).toBe("1.5 KB");
    expect(describeBytes(2048)).toBe("2 KB");
    expect(describeBytes(1)).toBe("1 byte");
  });
});
