import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, expect, it } from "vitest";
import { zipBomb } from "../../../test/attachment-fixtures.js";
import { forEachDatabase, type TestDatabaseKind } from "../../../test/databases.js";
import { GnuPG } from "../../../test/gnupg.js";
import { mailsStartingWith } from "../../../test/outbox.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { listAttachmentsOfReport } from "../attachments/index.js";
import { findReport, listMessages } from "../reports/index.js";
import { listInboundMessagesOfReport } from "./index.js";

const run = promisify(execFile);

function sqop(args: string[], input?: string): Buffer {
  const result = spawnSync("sqop", args, { input, timeout: 30_000 });
  if (result.status !== 0) throw new Error(`sqop ${args.join(" ")} failed: ${result.stderr.toString()}`);
  return result.stdout;
}

interface Sent {
  code: number;
  transcript: string;
}

/** swaks, a real SMTP client, handing a message to Shield's listener. */
async function swaks(port: number, args: string[]): Promise<Sent> {
  try {
    const { stdout } = await run("swaks", ["--server", "127.0.0.1", "--port", String(port), "--hide-informational", "--timeout", "30", ...args]);
    return { code: 0, transcript: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, transcript: `${e.stdout}${e.stderr}` };
  }
}

/** A PGP/MIME message (RFC 3156) with these header lines around an armored OpenPGP message. */
function pgpMimeMessage(headers: string[], armored: string): string {
  return [
    ...headers,
    "MIME-Version: 1.0",
    'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"',
    "",
    "--b",
    "Content-Type: application/pgp-encrypted",
    "",
    "Version: 1",
    "",
    "--b",
    "Content-Type: application/octet-stream",
    "",
    armored.trim(),
    "--b--",
    "",
  ].join("\r\n");
}

/** A header of a sent message, its folded lines joined. */
function header(eml: string, name: string): string | undefined {
  const head = eml.slice(0, eml.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, " ");
  return new RegExp(`^${name}: (.+)$`, "mi").exec(head)?.[1]?.trim();
}

forEachDatabase((kind: TestDatabaseKind) => {
  let shield: TestShield;
  let port: number;

  beforeEach(async () => {
    shield = await createTestShield(kind, { env: { SHIELD_SMTP_LISTEN: "127.0.0.1:0" } });
    port = await shield.inboundMail.smtp!.listen();
  });
  afterEach(() => shield.destroy());

  async function onlyReport() {
    const row = await shield.database.db.selectFrom("reports").select("id").orderBy("id", "desc").executeTakeFirstOrThrow();
    return (await findReport(shield.database.db, row.id))!;
  }

  it("turns a plain message to the security address into a report and answers it in the reporter's thread", async () => {
    const sent = await swaks(port, [
      "--from", "ada@example.org",
      "--to", "security@example.com",
      "--header", "From: Ada Lovelace <ada@example.org>",
      "--header", "Subject: Stored XSS in profile names",
      "--header", "Message-Id: <first-report@example.org>",
      "--body", "Set your name to <img src=x onerror=alert(1)> and open the profile.",
    ]);
    expect(sent.code).toBe(0);
    expect(sent.transcript).toMatch(/250 /);

    const report = await onlyReport();
    expect(report).toMatchObject({ source: "email", channel: "sensitive", title: "Stored XSS in profile names", reporterEmail: "ada@example.org", reporterName: "Ada Lovelace" });
    expect(report.description).toContain("<img src=x onerror=alert(1)>");
    const received = await listInboundMessagesOfReport(shield.database.db, report.id);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ via: "smtp", outcome: "report", messageIdHeader: "<first-report@example.org>", envelopeFrom: "ada@example.org" });

    await shield.worker.drain();
    const [receipt] = mailsStartingWith(shield, `receipt-${report.id}-`);
    expect(receipt).toBeDefined();
    expect(header(receipt!, "Subject")).toBe("Re: Stored XSS in profile names");
    expect(header(receipt!, "In-Reply-To")).toBe("<first-report@example.org>");
    expect(header(receipt!, "References")).toBe("<first-report@example.org>");
    const replyTo = header(receipt!, "Reply-To")!;
    expect(replyTo).toMatch(new RegExp(`^security\\+r${report.id}\\.[a-z2-7]{26}@example\\.com$`));
    expect(receipt).toContain("/security/reports/");

    // The reporter answers the receipt: the answer joins the thread, not a new report.
    const receiptId = header(receipt!, "Message-ID")!;
    const reply = await swaks(port, [
      "--from", "ada@example.org",
      "--to", replyTo,
      "--header", "From: ada@example.org",
      "--header", "Subject: Re: Stored XSS in profile names",
      "--header", `In-Reply-To: ${receiptId}`,
      "--header", `References: <first-report@example.org> ${receiptId}`,
      "--body", "It also works in the team list.\n\nOn Fri, 4 Dec 2026 Security Response wrote:\n> Thank you for your report",
    ]);
    expect(reply.code).toBe(0);
    const count = await shield.database.db.selectFrom("reports").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
    const thread = await listMessages(shield.database.db, report.id, { includeInternal: false });
    expect(thread.map((m) => [m.authorKind, m.body])).toContainEqual(["reporter", "It also works in the team list."]);
  });

  it("lets a reporter's e-mail answer resume a report waiting for information, and mails the team's question in the thread", async () => {
    await swaks(port, ["--from", "ada@example.org", "--to", "security@example.com", "--header", "Subject: CSRF on settings", "--header", "Message-Id: <csrf@example.org>", "--body", "details"]);
    const report = await onlyReport();
    const { auth } = await shield.addMember("triager");
    const ack = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${report.id}/transitions`, headers: auth, payload: { to: "acknowledged", reason: "seen", message: "Thanks, looking." } });
    expect(ack.statusCode).toBe(200);
    const ask = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${report.id}/transitions`, headers: auth, payload: { to: "needs_info", reason: "need version", message: "Which version do you run?" } });
    expect(ask.statusCode).toBe(200);
    await shield.worker.drain();
    const updates = mailsStartingWith(shield, `update-${report.id}-`);
    const question = updates.find((m) => m.includes("Which version do you run?"))!;
    expect(header(question, "In-Reply-To")).toBe("<csrf@example.org>");
    expect(header(question, "Subject")).toBe("Re: CSRF on settings");

    // Answering the team's mail (its Message-ID in References) reaches the report even sent to the plain address.
    const answer = await swaks(port, ["--from", "ada@example.org", "--to", "security@example.com", "--header", "Subject: Re: CSRF on settings", "--header", `References: ${header(question, "Message-ID")}`, "--body", "Version 4.2"]);
    expect(answer.code).toBe(0);
    const after = (await findReport(shield.database.db, report.id))!;
    expect(after.state).toBe("acknowledged");
    expect((await listMessages(shield.database.db, report.id, { includeInternal: false })).at(-1)?.body).toBe("Version 4.2");
  });

  it("refuses mail for foreign recipients and forged reply addresses with 550", async () => {
    const foreign = await swaks(port, ["--from", "spam@example.org", "--to", "victim@elsewhere.example"]);
    expect(foreign.transcript).toMatch(/550 5\.1\.1/);
    const forged = await swaks(port, ["--from", "spam@example.org", "--to", "security+r1.aaaaaaaaaaaaaaaaaaaaaaaaaa@example.com"]);
    expect(forged.transcript).toMatch(/550 5\.1\.1/);
    expect(await shield.database.db.selectFrom("reports").select("id").execute()).toEqual([]);
  });

  it("stores the same message once, however often it is delivered", async () => {
    // A sending server that retries, or the same message by SMTP and from the mailbox: the same bytes.
    const data = "From: ada@example.org\r\nTo: security@example.com\r\nSubject: Twice\r\nMessage-ID: <twice@example.org>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\nsame\r\n";
    const args = ["--from", "ada@example.org", "--to", "security@example.com", "--data", data];
    expect((await swaks(port, args)).code).toBe(0);
    expect((await swaks(port, args)).code).toBe(0);
    expect(await shield.database.db.selectFrom("reports").select("id").execute()).toHaveLength(1);
  });

  it("keeps a zip bomb attached to a report as an opaque file, never inflated, within 5 s and answering the next message", async () => {
    const bomb = zipBomb(256 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const file = path.join(shield.dataDir, "bomb.eml");
    fs.writeFileSync(
      file,
      Buffer.concat([
        Buffer.from(
          'From: ada@example.org\r\nTo: security@example.com\r\nSubject: Report with a zip\r\nMessage-ID: <bomb@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nThe proof is attached.\r\n--z\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename="proof.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
        ),
        Buffer.from(bomb.toString("base64").replace(/.{76}/g, "$&\r\n")),
        Buffer.from("\r\n--z--\r\n"),
      ]),
    );
    const started = Date.now();
    const sent = await swaks(port, ["--from", "ada@example.org", "--to", "security@example.com", "--data", file]);
    expect(sent.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    const report = await onlyReport();
    const attachments = await listAttachmentsOfReport(shield.database.db, report.id);
    const zip = attachments.find((a) => a.filename === "proof.zip");
    expect(zip).toMatchObject({ size: bomb.length, sha256: createHash("sha256").update(bomb).digest("hex") });
    // Shield still answers: the next message is stored as quickly.
    const next = await swaks(port, ["--from", "bob@example.org", "--to", "security@example.com", "--header", "Subject: After the zip", "--body", "still there?"]);
    expect(next.code).toBe(0);
    expect((await onlyReport()).title).toBe("After the zip");
  });

  it("sends no receipt to auto-submitted mail or the null sender, and says why on the record", async () => {
    await swaks(port, ["--from", "robot@example.org", "--to", "security@example.com", "--header", "Auto-Submitted: auto-replied", "--header", "Subject: Out of office", "--body", "away"]);
    const report = await onlyReport();
    await shield.worker.drain();
    expect(mailsStartingWith(shield, `receipt-${report.id}-`)).toEqual([]);
    const [received] = await listInboundMessagesOfReport(shield.database.db, report.id);
    expect(received!.details.receipt).toMatchObject({ sent: false });
    expect(received!.details.receipt?.why).toMatch(/Auto-Submitted/);
  });

  it("decrypts a PGP/MIME report that GnuPG encrypted to the team key, and keeps the encrypted original", async () => {
    const gpg = GnuPG.create();
    try {
      gpg.mustRun(["--import"], (await shield.keyring.current()).publicKey);
      const fingerprint = (await shield.keyring.current()).fingerprint;
      const armored = gpg.mustRun(["--armor", "--trust-model", "always", "--encrypt", "--recipient", fingerprint], "Content-Type: text/plain\r\n\r\nThe backup bucket is public.\r\n");
      const data = pgpMimeMessage(["From: grace@example.org", "To: security@example.com", "Subject: Encrypted report", "Message-Id: <enc@example.org>"], armored);
      const sent = await swaks(port, ["--from", "grace@example.org", "--to", "security@example.com", "--data", data]);
      expect(sent.code).toBe(0);
      const report = await onlyReport();
      expect(report.description).toContain("The backup bucket is public.");
      const [received] = await listInboundMessagesOfReport(shield.database.db, report.id);
      expect(received!.details.encryption).toMatchObject({ encrypted: true, decrypted: true });
      const original = await shield.database.db.selectFrom("attachments").selectAll().where("report_id", "=", report.id).where("content_type", "=", "message/rfc822").executeTakeFirstOrThrow();
      expect(original.blob_sha256).toBe(received!.rawSha256);
    } finally {
      gpg.destroy();
    }
  });

  it("takes a report signed and encrypted with Sequoia (sqop) and an inline-PGP report through the listener", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-sqop-"));
    try {
      const team = await shield.keyring.current();
      const secret = sqop(["generate-key", "Grace <grace@example.org>"]);
      fs.writeFileSync(path.join(dir, "grace.key"), secret);
      fs.writeFileSync(path.join(dir, "team.cert"), team.publicKey);
      const encrypted = sqop(["encrypt", "--sign-with", path.join(dir, "grace.key"), path.join(dir, "team.cert")], "Content-Type: text/plain\r\n\r\nSSRF through the webhook URL.\r\n").toString();
      const pgpMime = pgpMimeMessage(["From: grace@example.org", "To: security@example.com", "Subject: Sequoia report", "Message-Id: <sqop@example.org>"], encrypted);
      expect((await swaks(port, ["--from", "grace@example.org", "--to", "security@example.com", "--data", pgpMime])).code).toBe(0);
      const sequoia = await onlyReport();
      expect(sequoia.description).toContain("SSRF through the webhook URL.");
      const [received] = await listInboundMessagesOfReport(shield.database.db, sequoia.id);
      expect(received!.details.encryption).toMatchObject({ encrypted: true, decrypted: true });
      expect(received!.details.signature).toMatchObject({ signed: true });

      const inline = sqop(["encrypt", path.join(dir, "team.cert")], "Token leak in /api/debug\n").toString();
      const sent = await swaks(port, ["--from", "ada@example.org", "--to", "security@example.com", "--header", "Subject: Inline report", "--header", "Message-Id: <inline@example.org>", "--body", `Hello,\n\n${inline.trim()}\n\nBye`]);
      expect(sent.code).toBe(0);
      const report = await onlyReport();
      expect(report.title).toBe("Inline report");
      expect(report.description).toContain("Token leak in /api/debug");
      expect(report.description).not.toContain("BEGIN PGP MESSAGE");
      const [inlineReceived] = await listInboundMessagesOfReport(shield.database.db, report.id);
      expect(inlineReceived!.details.encryption?.encryptedParts).toEqual(["the text (inline PGP)"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
