import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { dkimSign } from "mailauth";
import { afterEach, expect, it } from "vitest";
import { forEachDatabase, type TestDatabaseKind } from "../../../test/databases.js";
import type { DnsRecords } from "../../../test/dns.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { listInboundMessagesOfReport } from "./index.js";

const run = promisify(execFile);

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const dkimRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;

/** example.org publishes SPF for 127.0.0.1 only, its DKIM key, and DMARC p=reject; bank.example publishes SPF and DMARC that 127.0.0.1 does not pass. */
const dns: DnsRecords = {
  "example.org TXT": [["v=spf1 ip4:127.0.0.1 -all"]],
  "mail2026._domainkey.example.org TXT": [[dkimRecord]],
  "_dmarc.example.org TXT": [["v=DMARC1; p=reject"]],
  "bank.example TXT": [["v=spf1 ip4:192.0.2.10 -all"]],
  "_dmarc.bank.example TXT": [["v=DMARC1; p=reject"]],
};

function message(from: string, subject: string, id: string): string {
  return [`From: ${from}`, "To: security@example.com", `Subject: ${subject}`, `Message-ID: <${id}>`, "Date: Fri, 04 Dec 2026 20:00:00 +0000", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", "Steps to reproduce are below.", ""].join("\r\n");
}

async function swaksData(port: number, mailFrom: string, data: string): Promise<number> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "shield-eml-")), "message.eml");
  fs.writeFileSync(file, data);
  try {
    await run("swaks", ["--server", "127.0.0.1", "--port", String(port), "--helo", "mx.example.org", "--from", mailFrom, "--to", "security@example.com", "--data", file, "--silent", "2", "--timeout", "30"]);
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

forEachDatabase((kind: TestDatabaseKind) => {
  let shield: TestShield;
  afterEach(() => shield.destroy());

  async function authenticationOf(subject: string) {
    const report = await shield.database.db.selectFrom("reports").select("id").where("title", "=", subject).executeTakeFirstOrThrow();
    const [received] = await listInboundMessagesOfReport(shield.database.db, report.id);
    return received!.details.authentication!;
  }

  it("stores SPF, DKIM and DMARC verdicts from the connection and the message, and takes a failing message all the same", async () => {
    shield = await createTestShield(kind, { env: { SHIELD_SMTP_LISTEN: "127.0.0.1:0" }, dns });
    const port = await shield.inboundMail.smtp!.listen();

    const plain = message("Ada <ada@example.org>", "Signed report", "signed@example.org");
    const signing = { signingDomain: "example.org", selector: "mail2026", privateKey: privateKey.export({ type: "pkcs8", format: "pem" }) };
    const { signatures } = await dkimSign(plain, { ...signing, signatureData: [signing] } as Parameters<typeof dkimSign>[1]);
    expect(signatures).toMatch(/^DKIM-Signature: /);
    expect(await swaksData(port, "ada@example.org", `${signatures}${plain}`)).toBe(0);
    const signed = await authenticationOf("Signed report");
    expect(signed.spf).toBe("pass (example.org, client 127.0.0.1)");
    expect(signed.dkim).toBe("pass (example.org)");
    expect(signed.dmarc).toBe("pass (example.org)");
    expect(signed.summary).toMatch(/dkim=pass/);

    // The same signature over a changed body no longer verifies.
    const altered = `${signatures}${plain.replace("Steps to reproduce", "Steps to exploit")}`.replace("Subject: Signed report", "Subject: Altered report").replace("<signed@example.org>", "<altered@example.org>");
    expect(await swaksData(port, "ada@example.org", altered)).toBe(0);
    expect((await authenticationOf("Altered report")).dkim).toMatch(/^(fail|neutral) \(example\.org\)$/);

    // A sender forging a bank's address: every verdict fails, and the report is stored anyway.
    expect(await swaksData(port, "alerts@bank.example", message("Bank <alerts@bank.example>", "Your account is locked", "forged@bank.example"))).toBe(0);
    const forged = await authenticationOf("Your account is locked");
    expect(forged).toMatchObject({ spf: "fail (bank.example, client 127.0.0.1)", dkim: "none (not signed)", dmarc: "fail (bank.example)" });
  });
});
