import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPublicKeys } from "../../platform/crypto/openpgp.js";
import { MimeParser } from "../../platform/mail/inbound/mime-parser.js";
import { GnuPG } from "../../../test/gnupg.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { readInboundMail } from "./mail-reader.js";

/** Mail as a real client writes it: CRLF line ends. */
function crlf(text: string): Buffer {
  return Buffer.from(text.replace(/\r?\n/g, "\r\n"), "utf8");
}

function pgpMime(headers: string, armored: string): Buffer {
  return crlf(
    `${headers}\nMIME-Version: 1.0\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="enc"\n\n--enc\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--enc\nContent-Type: application/octet-stream; name="encrypted.asc"\n\n${armored.trim()}\n--enc--\n`,
  );
}

function sqop(args: string[], input?: string | Buffer): Buffer {
  const result = spawnSync("sqop", args, { input, timeout: 30_000 });
  if (result.status !== 0) throw new Error(`sqop ${args.join(" ")} failed: ${result.stderr.toString()}`);
  return result.stdout;
}

describe("reading received mail", () => {
  let shield: TestShield;
  let gpg: GnuPG;
  let parser: MimeParser;
  let reporterFingerprint: string;
  let reporterPublic: string;

  beforeAll(async () => {
    shield = await createTestShield("sqlite");
    parser = new MimeParser();
    gpg = GnuPG.create();
    gpg.mustRun(["--import"], (await shield.keyring.current()).publicKey);
    reporterFingerprint = gpg.generateKey("Ada Reporter <ada@example.org>");
    reporterPublic = gpg.exportPublic(reporterFingerprint);
  });
  afterAll(async () => {
    await parser.close();
    gpg.destroy();
    await shield.destroy();
  });

  const deps = () => ({ parser, keyring: shield.keyring });

  async function teamRecipient(): Promise<string> {
    return (await shield.keyring.current()).fingerprint;
  }

  it("decrypts a PGP/MIME report made with GnuPG and checks its signature against the reporter's key", async () => {
    const inner = "Content-Type: text/plain; charset=utf-8\n\nThe admin panel at /admin takes any password.\n";
    const armored = gpg.mustRun(["--armor", "--trust-model", "always", "--local-user", reporterFingerprint, "--sign", "--encrypt", "--recipient", await teamRecipient()], crlf(inner));
    const read = await readInboundMail(deps(), pgpMime("From: Ada <ada@example.org>\nTo: security@example.com\nSubject: ...\nMessage-ID: <enc1@example.org>", armored), await readPublicKeys(reporterPublic));
    expect(read.notes).toEqual([]);
    expect(read.mail?.text).toContain("takes any password");
    expect(read.mail?.from?.address).toBe("ada@example.org");
    expect(read.details.encryption).toMatchObject({ encrypted: true, decrypted: true });
    expect(read.details.signature).toMatchObject({ signed: true, valid: true, keyFingerprint: reporterFingerprint });
  });

  it("decrypts a report signed and encrypted with Sequoia (sqop) and offers the key it came with", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-sqop-"));
    try {
      const secret = sqop(["generate-key", "Grace <grace@example.org>"]);
      const cert = sqop(["extract-cert"], secret);
      fs.writeFileSync(path.join(dir, "grace.key"), secret);
      fs.writeFileSync(path.join(dir, "team.cert"), (await shield.keyring.current()).publicKey);
      const armored = sqop(["encrypt", "--sign-with", path.join(dir, "grace.key"), path.join(dir, "team.cert")], crlf("Content-Type: text/plain\n\nSSRF through the webhook URL.\n")).toString();
      const keydata = Buffer.from((await readPublicKeys(cert.toString()))[0]!.write()).toString("base64");
      const read = await readInboundMail(
        deps(),
        pgpMime(`From: grace@example.org\nTo: security@example.com\nSubject: Encrypted report\nAutocrypt: addr=grace@example.org; keydata=${keydata}`, armored),
      );
      expect(read.mail?.text).toContain("SSRF through the webhook URL.");
      expect(read.details.offeredKey?.source).toBe("autocrypt");
      expect(read.offeredKey).toContain("BEGIN PGP PUBLIC KEY BLOCK");
      expect(read.details.signature).toMatchObject({ signed: true, valid: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("decrypts inline PGP in the text part", async () => {
    const armored = gpg.mustRun(["--armor", "--trust-model", "always", "--encrypt", "--recipient", await teamRecipient()], "Token leak in /api/debug\n");
    const read = await readInboundMail(deps(), crlf(`From: x@example.org\nTo: security@example.com\nSubject: inline\n\nHello,\n\n${armored}\nBye\n`));
    expect(read.mail?.text).toContain("Token leak in /api/debug");
    expect(read.mail?.text).not.toContain("BEGIN PGP MESSAGE");
    expect(read.details.encryption?.encryptedParts).toEqual(["the text (inline PGP)"]);
  });

  it("keeps a message encrypted to a key the team does not hold as received, and names the key", async () => {
    const other = gpg.generateKey("Someone Else <else@example.org>");
    const armored = gpg.mustRun(["--armor", "--trust-model", "always", "--encrypt", "--recipient", other], crlf("Content-Type: text/plain\n\nsecret\n"));
    const read = await readInboundMail(deps(), pgpMime("From: x@example.org\nSubject: lost key", armored));
    expect(read.details.encryption).toMatchObject({ encrypted: true, decrypted: false });
    expect(read.details.encryption?.keyIds?.length).toBeGreaterThan(0);
    expect(read.notes.join(" ")).toMatch(/which the team does not hold/);
    expect(read.mail?.text ?? "").not.toContain("secret");
  });

  it("checks a clear-signed PGP/MIME message on its exact bytes, and finds a change", async () => {
    // The line break before the delimiter belongs to the delimiter, so the signed bytes end without it.
    const signedPart = "Content-Type: text/plain; charset=utf-8\r\n\r\nRCE in the importer.";
    const signature = gpg.mustRun(["--armor", "--local-user", reporterFingerprint, "--detach-sign"], signedPart);
    const message = (part: string) =>
      Buffer.from(
        `From: ada@example.org\r\nSubject: signed\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="sig"\r\n\r\n--sig\r\n${part}\r\n--sig\r\nContent-Type: application/pgp-signature\r\n\r\n${signature}\r\n--sig--\r\n`,
      );
    const keys = await readPublicKeys(reporterPublic);
    const good = await readInboundMail(deps(), message(signedPart), keys);
    expect(good.details.signature).toMatchObject({ signed: true, valid: true, keyFingerprint: reporterFingerprint });
    const altered = await readInboundMail(deps(), message(signedPart.replace("RCE", "XSS")), keys);
    expect(altered.details.signature).toMatchObject({ signed: true, valid: false });
  });

  it("keeps an unparseable message with a note instead of failing", async () => {
    const deep = Array.from({ length: 100 }, (_, i) => `Content-Type: multipart/mixed; boundary="b${i}"\n\n--b${i}`).join("\n");
    const read = await readInboundMail(deps(), crlf(`From: x@example.org\nSubject: deep\n${deep}\n`));
    expect(read.mail).toBeNull();
    expect(read.notes[0]).toMatch(/could not be read/);
  });
});
