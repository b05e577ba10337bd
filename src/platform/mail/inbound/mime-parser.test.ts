import { afterAll, describe, expect, it } from "vitest";
import { MimeParseError, MimeParser } from "./mime-parser.js";

const parser = new MimeParser();
afterAll(() => parser.close());

function crlf(text: string): Buffer {
  return Buffer.from(text.replace(/\r?\n/g, "\r\n"), "latin1");
}

function nested(depth: number): Buffer {
  let head = "From: a@example.org\nTo: security@example.com\nSubject: deep\nMIME-Version: 1.0\n";
  let body = "";
  for (let i = 0; i < depth; i++) {
    head += `Content-Type: multipart/mixed; boundary="b${i}"\n\n--b${i}\n`;
    body = `\n--b${i}--\n` + body;
  }
  return crlf(`${head}Content-Type: text/plain\n\nbottom${body}`);
}

describe("MimeParser", () => {
  it("reads a plain message's sender, subject, thread ids and text", async () => {
    const mail = await parser.parse(
      crlf(
        "From: Ada <ada@example.org>\nTo: security@example.com\nSubject: XSS in profile\nMessage-ID: <one@example.org>\nIn-Reply-To: <r1@shield>\nReferences: <r0@shield> <r1@shield>\nDate: Fri, 04 Dec 2026 10:00:00 +0000\n\nHello <script>alert(1)</script>\n",
      ),
    );
    expect(mail.from).toEqual({ name: "Ada", address: "ada@example.org" });
    expect(mail.subject).toBe("XSS in profile");
    expect(mail.messageId).toBe("<one@example.org>");
    expect(mail.references).toEqual(["<r0@shield>", "<r1@shield>"]);
    expect(mail.text).toContain("<script>alert(1)</script>");
  });

  it("decodes charsets, encoded words and RFC 2231 file names", async () => {
    const mail = await parser.parse(
      crlf(
        [
          "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>",
          "To: security@example.com",
          "Subject: =?UTF-8?B?w5xiZXJsYXVmIGluIGRlciBTdWNoZQ==?=",
          "MIME-Version: 1.0",
          'Content-Type: multipart/mixed; boundary="x"',
          "",
          "--x",
          "Content-Type: text/plain; charset=iso-8859-1",
          "Content-Transfer-Encoding: quoted-printable",
          "",
          "Caf=E9 cr=E8me",
          "--x",
          "Content-Type: application/octet-stream",
          "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.txt",
          "Content-Transfer-Encoding: base64",
          "",
          Buffer.from("proof").toString("base64"),
          "--x--",
          "",
        ].join("\n"),
      ),
    );
    expect(mail.from?.name).toBe("André");
    expect(mail.subject).toBe("Überlauf in der Suche");
    expect(mail.text?.trim()).toBe("Café crème");
    expect(mail.attachments).toHaveLength(1);
    expect(mail.attachments[0]!.filename).toBe("résumé €.txt");
    expect(Buffer.from(mail.attachments[0]!.content).toString()).toBe("proof");
  });

  it("reads a broken charset and a forged encoded word as text, without throwing", async () => {
    const mail = await parser.parse(
      crlf("From: x@example.org\nSubject: =?x-no-such-charset?Q?=FF=FE?= =?UTF-8?B?!!!not base64?=\nContent-Type: text/plain; charset=no-such-charset\n\nbytes \xff\xfe\n"),
    );
    expect(typeof mail.subject).toBe("string");
    expect(mail.text).toContain("bytes");
  });

  it("refuses parts nested 1,000 deep, quickly", async () => {
    const started = Date.now();
    const error = await parser.parse(nested(1000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MimeParseError);
    expect((error as MimeParseError).reason).toBe("too_deep");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("refuses a message of 10,000 parts, quickly", async () => {
    const parts = Array.from({ length: 10_000 }, (_, i) => `--p\nContent-Type: text/plain\n\npart ${i}\n`).join("");
    const started = Date.now();
    const error = await parser.parse(crlf(`From: x@example.org\nContent-Type: multipart/mixed; boundary="p"\n\n${parts}--p--\n`)).catch((e: unknown) => e);
    expect((error as MimeParseError).reason).toBe("too_many_parts");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("reads a 20 MB base64 line as one attachment", async () => {
    const payload = Buffer.alloc(15 * 1024 * 1024, 0x41);
    const raw = Buffer.concat([
      crlf('From: x@example.org\nContent-Type: multipart/mixed; boundary="z"\n\n--z\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="big.bin"\nContent-Transfer-Encoding: base64\n\n'),
      Buffer.from(payload.toString("base64")),
      crlf("\n--z--\n"),
    ]);
    expect(raw.length).toBeGreaterThan(20 * 1024 * 1024);
    const mail = await parser.parse(raw);
    expect(mail.attachments[0]!.content.byteLength).toBe(payload.length);
  });

  it("gives up on a parse that runs past its time and reads the next message with a fresh worker", async () => {
    const slow = new MimeParser({ timeoutMs: 1, maxNestingDepth: 32, maxPartCount: 500, maxHeadersBytes: 512 * 1024, maxHeapMb: 256 });
    try {
      const big = crlf(`From: x@example.org\nSubject: slow\n\n${"line of text\n".repeat(400_000)}`);
      const error = await slow.parse(big).catch((e: unknown) => e);
      expect((error as MimeParseError).reason).toBe("timeout");
    } finally {
      await slow.close();
    }
    const mail = await parser.parse(crlf("From: x@example.org\nSubject: after\n\nok\n"));
    expect(mail.subject).toBe("after");
  });
});
