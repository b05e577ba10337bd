import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachDatabase, type TestDatabaseKind } from "./databases.js";
import { hasPostfix, startPostfix, type Postfix } from "./postfix.js";
import { createTestShield, type TestShield } from "./shield.js";
import { waitFor } from "./cli.js";

const run = promisify(execFile);

/**
 * Postfix in front of Shield, as a company's MX would be: its `smtp-source` floods while
 * 50 researchers write with swaks, and every message Postfix delivered (Shield answered
 * 250) is exactly one report or thread message, and each researcher's is a report with a
 * receipt. The flood is 5,000 messages over 20 connections (`npm run bench:mail`
 * sends that many); the test sends SHIELD_TEST_MAIL_FLOOD (default 500; about 20 s on SQLite and 30 s on
 * PostgreSQL on the 2-core test machine) so the suite
 * stays within minutes on a small shared machine: the shape is the same.
 */
const FLOOD = Number(process.env.SHIELD_TEST_MAIL_FLOOD ?? 500);
const SESSIONS = 20;
const LEGITIMATE = 50;

if (!hasPostfix() && process.env.CI === "true") throw new Error("Postfix (Debian's postfix: postfix, smtp-source) is required under CI=true");

/** swaks handing one message to Postfix. */
async function swaks(port: number, args: string[]): Promise<void> {
  await run("swaks", ["--server", "127.0.0.1", "--port", String(port), "--silent", "2", "--timeout", "60", ...args]);
}

async function count(shield: TestShield, table: "reports" | "inbound_messages"): Promise<number> {
  const row = await shield.database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

forEachDatabase((kind: TestDatabaseKind) => {
  let shield: TestShield;
  let postfix: Postfix;
  beforeAll(async () => {
    if (!hasPostfix()) return;
    // Postfix is the only client of Shield's listener here (the MX), so its per-address limits are opened for it.
    shield = await createTestShield(kind, { env: { SHIELD_SMTP_LISTEN: "127.0.0.1:0", SHIELD_SMTP_MAX_CONNECTIONS: "40", SHIELD_SMTP_MESSAGES_PER_MINUTE: "1000000" } });
    const port = await shield.inboundMail.smtp!.listen();
    postfix = await startPostfix({ domain: "example.com", nextHop: `127.0.0.1:${port}`, connections: SESSIONS });
  }, 60_000);
  afterAll(async () => {
    await postfix?.stop();
    await shield?.destroy();
  });

  it.skipIf(!hasPostfix())(`stores each message Postfix delivered exactly once while ${FLOOD} flood messages and ${LEGITIMATE} reports arrive together`, async () => {
    const flood = postfix.smtpSource({ messages: FLOOD, sessions: SESSIONS, from: "flood@flood.example.net", to: "security@example.com" });
    const legitimate = Array.from({ length: LEGITIMATE }, (_, i) =>
      swaks(postfix.port, [
        "--from", `researcher${i}@example.org`,
        "--to", "security@example.com",
        "--header", `From: Researcher ${i} <researcher${i}@example.org>`,
        "--header", `Subject: Finding ${i}: SSRF in the importer`,
        "--header", `Message-Id: <finding-${i}@example.org>`,
        "--body", `Step ${i}: point the importer at http://169.254.169.254/.`,
      ]),
    );
    await Promise.all([flood, ...legitimate]);
    const total = FLOOD + LEGITIMATE;
    await waitFor(
      "Postfix to hand over every message",
      async () => {
        if (postfix.deliveries().filter((d) => d.status === "sent").length === total && (await postfix.queued()) === 0) return true;
        await new Promise((r) => setTimeout(r, 250));
        return undefined;
      },
      Math.max(120_000, total * 100),
    ).catch((error: Error) => {
      const sent = postfix.deliveries().filter((d) => d.status === "sent").length;
      throw new Error(`${error.message}: ${sent} of ${total} sent; last log lines:\n${postfix.log().split("\n").slice(-20).join("\n")}`);
    });

    const delivered = postfix.deliveries().filter((d) => d.status === "sent");
    expect(delivered.every((d) => d.reply.startsWith("250 "))).toBe(true);
    expect(new Set(delivered.map((d) => d.queueId)).size).toBe(total);

    // Each delivered message is one stored message, and each stored message is a report (nobody wrote to a reply address here).
    const stored = await shield.database.db.selectFrom("inbound_messages").select(["message_id_header", "outcome", "report_id"]).execute();
    expect(stored).toHaveLength(total);
    expect(new Set(stored.map((m) => m.message_id_header)).size).toBe(total);
    expect(stored.every((m) => m.outcome === "report" && m.report_id !== null)).toBe(true);
    expect(await count(shield, "reports")).toBe(total);

    // Each researcher's message is a report of theirs with its receipt on the way.
    const reports = await shield.database.db.selectFrom("reports").select(["id", "reporter_email", "title"]).where("reporter_email", "like", "researcher%@example.org").execute();
    expect(reports.map((r) => r.reporter_email).sort()).toEqual(Array.from({ length: LEGITIMATE }, (_, i) => `researcher${i}@example.org`).sort());
    const receipts = await shield.database.db.selectFrom("jobs").select("payload").where("kind", "=", "mail.receipt").execute();
    const receiptFor = new Set(receipts.map((j) => (JSON.parse(j.payload) as { reportId: number }).reportId));
    expect(reports.filter((r) => !receiptFor.has(r.id))).toEqual([]);
  }, 600_000);
});
