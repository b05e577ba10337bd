import { randomBytes } from "node:crypto";
import { ImapFlow } from "imapflow";
import pino from "pino";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { forEachDatabase, type TestDatabaseKind } from "../../../test/databases.js";
import { startDovecot, type Dovecot } from "../../../test/dovecot.js";
import { mailsStartingWith } from "../../../test/outbox.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { ImapPoller } from "../../platform/mail/inbound/imap-poller.js";
import { parseImapUrl } from "../../platform/mail/inbound/imap-url.js";
import { listInboundMessagesOfReport } from "./index.js";
import { advanceImapCursor, findImapCursor } from "./inbound-mail.repository.js";

let dovecot: Dovecot;
beforeAll(async () => {
  dovecot = await startDovecot();
}, 30_000);
afterAll(() => dovecot?.stop());

/** A plain message as a mail server delivers it into a mailbox. */
function message(id: string, subject: string, from = "ada@example.org"): Buffer {
  return Buffer.from(
    [
      `Return-Path: <${from}>`,
      "Delivered-To: security@example.com",
      "Received: from mx.example.org (mx.example.org [192.0.2.10]) by imap.example.com with ESMTPS; Fri, 04 Dec 2026 20:00:01 +0000",
      `From: Reporter <${from}>`,
      "To: security@example.com",
      `Subject: ${subject}`,
      `Message-ID: <${id}@example.org>`,
      "Date: Fri, 04 Dec 2026 20:00:00 +0000",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      `Details of ${subject}.`,
      "",
    ].join("\r\n"),
  );
}

/** The test's own IMAP client: puts mail into the mailbox and reads back what is there. */
async function mailboxClient(): Promise<ImapFlow> {
  const client = new ImapFlow({ host: "127.0.0.1", port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
  await client.connect();
  return client;
}

async function inFolder<T>(folder: string, work: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = await mailboxClient();
  try {
    const lock = await client.getMailboxLock(folder);
    try {
      return await work(client);
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

/** UID, subject and flags of every message in the folder. */
async function contents(folder: string): Promise<Array<{ uid: number; subject: string; seen: boolean }>> {
  return inFolder(folder, async (client) => {
    if (!client.mailbox || client.mailbox.exists === 0) return [];
    const all = await client.fetchAll("1:*", { uid: true, envelope: true, flags: true });
    return all.map((m) => ({ uid: m.uid, subject: m.envelope?.subject ?? "", seen: m.flags?.has("\\Seen") ?? false }));
  });
}

async function append(folder: string, ...messages: Buffer[]): Promise<void> {
  const client = await mailboxClient();
  try {
    for (const m of messages) await client.append(folder, m);
  } finally {
    await client.logout();
  }
}

async function newFolder(): Promise<string> {
  const folder = `Security-${randomBytes(4).toString("hex")}`;
  const client = await mailboxClient();
  try {
    await client.mailboxCreate(folder);
  } finally {
    await client.logout();
  }
  return folder;
}

forEachDatabase((kind: TestDatabaseKind) => {
  let shield: TestShield | undefined;
  afterEach(async () => {
    await shield?.destroy();
    shield = undefined;
  });

  async function reportTitles(s: TestShield): Promise<string[]> {
    const rows = await s.database.db.selectFrom("reports").select(["title"]).orderBy("id").execute();
    return rows.map((r) => r.title);
  }

  /** A poller as a restarted process would make it: only the database remembers where the last one got to. */
  function restartedPoller(s: TestShield, url: string, deliveries: { count: number }, before?: () => void): ImapPoller {
    const logger = pino({ level: "silent" });
    return new ImapPoller({
      mailbox: parseImapUrl(url),
      maxMessageBytes: 1024 * 1024,
      pollEveryMs: 60_000,
      cursor: {
        lastUid: (mailbox, uidValidity) => findImapCursor(s.database.db, mailbox, uidValidity),
        remember: (mailbox, uidValidity, uid) => advanceImapCursor(s.database.db, mailbox, uidValidity, uid, new Date().toISOString()),
      },
      deliver: async (raw, envelope) => {
        deliveries.count++;
        before?.();
        await s.inboundMail.receive(raw, { via: "imap", mailFrom: envelope.mailFrom, rcptTo: envelope.rcptTo, remoteAddress: null });
      },
      logger,
    });
  }

  it("turns the mailbox's messages into reports, marks them seen once stored, and a restart downloads none of them again", async () => {
    const folder = await newFolder();
    const url = dovecot.urlOf(folder);
    // The mailbox's own server received it from 192.0.2.10, which example.org's SPF names.
    shield = await createTestShield(kind, { env: { SHIELD_IMAP_URL: url }, dns: { "example.org TXT": [["v=spf1 ip4:192.0.2.10 -all"]] } });
    await append(folder, message("one", "SQL injection in search"), message("two", "Open redirect on login"));

    const first = await shield.inboundMail.imap!.pollOnce();
    expect(first).toEqual({ delivered: 2, failed: 0, tooLarge: 0 });
    expect(await reportTitles(shield)).toEqual(["SQL injection in search", "Open redirect on login"]);
    expect((await contents(folder)).map((m) => m.seen)).toEqual([true, true]);
    const report = await shield.database.db.selectFrom("reports").select(["id", "source", "channel", "reporter_email"]).orderBy("id").executeTakeFirstOrThrow();
    expect(report).toMatchObject({ source: "email", channel: "sensitive", reporter_email: "ada@example.org" });
    const [received] = await listInboundMessagesOfReport(shield.database.db, report.id);
    expect(received).toMatchObject({ via: "imap", outcome: "report", envelopeFrom: "ada@example.org", envelopeTo: ["security@example.com"] });
    expect(received!.details.authentication).toMatchObject({ spf: "pass (example.org, client 192.0.2.10)", dkim: "none (not signed)" });
    await shield.worker.drain();
    expect(mailsStartingWith(shield, `receipt-${report.id}-`)).toHaveLength(1);

    // A restarted process: the cursor in the database says both are done.
    const deliveries = { count: 0 };
    const restarted = restartedPoller(shield, url, deliveries);
    expect(await restarted.pollOnce()).toEqual({ delivered: 0, failed: 0, tooLarge: 0 });
    expect(deliveries.count).toBe(0);
    await append(folder, message("three", "CSRF on settings"));
    expect(await restarted.pollOnce()).toEqual({ delivered: 1, failed: 0, tooLarge: 0 });
    expect(deliveries.count).toBe(1);
    expect(await reportTitles(shield)).toEqual(["SQL injection in search", "Open redirect on login", "CSRF on settings"]);
  });

  it("leaves a message on the server until it is stored: a failed store and a crash between store and delete lose and duplicate nothing", async () => {
    const folder = await newFolder();
    const url = dovecot.urlOf(folder, "delete=true");
    shield = await createTestShield(kind, { env: { SHIELD_IMAP_URL: url } });
    await append(folder, message("stored-once", "XSS in comments"));

    // The database refuses: the message stays, unseen.
    const down = restartedPoller(shield, url, { count: 0 }, () => {
      throw new Error("database unavailable");
    });
    expect(await down.pollOnce()).toEqual({ delivered: 0, failed: 1, tooLarge: 0 });
    expect(await contents(folder)).toMatchObject([{ subject: "XSS in comments", seen: false }]);
    expect(await reportTitles(shield)).toEqual([]);

    // The process dies after the report committed, before the message was deleted.
    const crashing = new ImapPoller({
      mailbox: parseImapUrl(url),
      maxMessageBytes: 1024 * 1024,
      pollEveryMs: 60_000,
      cursor: { lastUid: (m, v) => findImapCursor(shield!.database.db, m, v), remember: (m, v, u) => advanceImapCursor(shield!.database.db, m, v, u, new Date().toISOString()) },
      deliver: async (raw, envelope) => {
        await shield!.inboundMail.receive(raw, { via: "imap", mailFrom: envelope.mailFrom, rcptTo: envelope.rcptTo, remoteAddress: null });
        throw new Error("killed after the commit");
      },
      logger: pino({ level: "silent" }),
    });
    expect((await crashing.pollOnce()).failed).toBe(1);
    expect(await contents(folder)).toHaveLength(1);
    expect(await reportTitles(shield)).toEqual(["XSS in comments"]);

    // After the restart the message is recognised as stored, then deleted.
    expect(await shield.inboundMail.imap!.pollOnce()).toEqual({ delivered: 1, failed: 0, tooLarge: 0 });
    expect(await contents(folder)).toEqual([]);
    expect(await reportTitles(shield)).toEqual(["XSS in comments"]);
  });

  it("reads the folder again when its UIDVALIDITY changes, storing the new message and none twice", async () => {
    const folder = await newFolder();
    shield = await createTestShield(kind, { env: { SHIELD_IMAP_URL: dovecot.urlOf(folder) } });
    const [a, b, c] = [message("a", "Report A"), message("b", "Report B"), message("c", "Report C")];
    await append(folder, a, b, c);
    expect((await shield.inboundMail.imap!.pollOnce()).delivered).toBe(3);
    const before = await inFolder(folder, async (client) => (client.mailbox ? client.mailbox.uidValidity : 0n));

    // The folder is rebuilt (restored from a backup, moved to another server): new UIDVALIDITY,
    // the new message first, so it takes a UID the old numbering had already passed.
    const client = await mailboxClient();
    await client.mailboxDelete(folder);
    await client.mailboxCreate(folder);
    await client.logout();
    await append(folder, message("d", "Report D"), a, b, c);
    const after = await inFolder(folder, async (cl) => (cl.mailbox ? cl.mailbox.uidValidity : 0n));
    expect(after).not.toBe(before);
    expect((await contents(folder)).map((m) => [m.uid, m.subject])).toEqual([[1, "Report D"], [2, "Report A"], [3, "Report B"], [4, "Report C"]]);

    expect(await shield.inboundMail.imap!.pollOnce()).toEqual({ delivered: 4, failed: 0, tooLarge: 0 });
    expect((await reportTitles(shield)).sort()).toEqual(["Report A", "Report B", "Report C", "Report D"]);
    expect((await contents(folder)).every((m) => m.seen)).toBe(true);
  });

  it("tells the team of a message too large to take, by a report made from its headers, and leaves it in the mailbox flagged, once", async () => {
    const folder = await newFolder();
    const done = `${folder}-done`;
    shield = await createTestShield(kind, { env: { SHIELD_IMAP_URL: dovecot.urlOf(folder, `move=${encodeURIComponent(done)}`), SHIELD_MAIL_MAX_BYTES: String(1024 * 1024) } });
    const huge = Buffer.concat([
      message("huge", "=?utf-8?q?Proof_of_concept_=E2=80=94_video?=", "grace@example.net").subarray(0, -2),
      Buffer.from(`${"A".repeat(76)}\r\n`.repeat(20_000)),
    ]);
    expect(huge.length).toBeGreaterThan(1024 * 1024);
    await append(folder, huge, message("small", "Open redirect on login"));

    expect(await shield.inboundMail.imap!.pollOnce()).toEqual({ delivered: 1, failed: 0, tooLarge: 1 });
    const reports = await shield.database.db.selectFrom("reports").select(["id", "title", "description", "reporter_email"]).orderBy("id").execute();
    expect(reports.map((r) => r.title)).toEqual(["[too large to take, 1.5 MB] Proof of concept — video", "Open redirect on login"]);
    const notice = reports[0]!;
    expect(notice.reporter_email).toBe("grace@example.net");
    expect(notice.description).toContain(`it is ${huge.length} bytes`);
    expect(notice.description).toContain(`still in the mailbox folder "${folder}"`);
    // The team answers in person: no receipt claims the report was received whole.
    const [received] = await listInboundMessagesOfReport(shield.database.db, notice.id);
    expect(received).toMatchObject({ messageIdHeader: "<huge@example.org>", details: { receipt: { sent: false } } });
    expect(received!.details.receipt?.why).toMatch(/too large/);
    await shield.worker.drain();
    expect(mailsStartingWith(shield, `receipt-${notice.id}-`)).toEqual([]);
    expect(mailsStartingWith(shield, `receipt-${reports[1]!.id}-`)).toHaveLength(1);

    // The original stays where it was, unread and flagged; the stored one moved on.
    const left = await inFolder(folder, async (client) => client.fetchAll("1:*", { uid: true, flags: true, size: true }));
    expect(left).toHaveLength(1);
    expect(left[0]!.size).toBe(huge.length);
    expect([...(left[0]!.flags ?? [])].sort()).toEqual(["$ShieldTooLarge", "\\Flagged"]);

    // Not fetched again: neither by the next poll nor by a restarted process.
    expect(await shield.inboundMail.imap!.pollOnce()).toEqual({ delivered: 0, failed: 0, tooLarge: 0 });
    const deliveries = { count: 0 };
    expect(await restartedPoller(shield, dovecot.urlOf(folder), deliveries).pollOnce()).toEqual({ delivered: 0, failed: 0, tooLarge: 0 });
    expect(deliveries.count).toBe(0);

    // Read again after a UIDVALIDITY change, it is the same notice: recognised, not a second report.
    const client = await mailboxClient();
    await client.mailboxDelete(folder);
    await client.mailboxCreate(folder);
    await client.logout();
    await append(folder, huge);
    expect(await shield.inboundMail.imap!.pollOnce()).toEqual({ delivered: 0, failed: 0, tooLarge: 1 });
    expect(await reportTitles(shield)).toHaveLength(2);
  });

  it("takes a message as soon as the server announces it (IDLE), and moves it to the folder the URL names", async () => {
    const folder = await newFolder();
    // The folder to move to does not exist yet: the poller makes it.
    const done = `${folder}-done`;
    shield = await createTestShield(kind, { env: { SHIELD_IMAP_URL: dovecot.urlOf(folder, `move=${encodeURIComponent(done)}`), SHIELD_IMAP_POLL_SECONDS: "600" } });
    shield.inboundMail.imap!.start();
    await new Promise((r) => setTimeout(r, 1000));
    await append(folder, message("idle", "Account takeover via reset link"));
    // The timer is 10 minutes away: only the server's news can bring it in time.
    const until = Date.now() + 8_000;
    while ((await reportTitles(shield)).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(await reportTitles(shield)).toEqual(["Account takeover via reset link"]);
    await shield.inboundMail.imap!.stop();
    expect(await contents(folder)).toEqual([]);
    expect(await contents(done)).toMatchObject([{ subject: "Account takeover via reset link", seen: true }]);
  });
});
