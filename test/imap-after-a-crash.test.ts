import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ImapFlow } from "imapflow";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase, type Database } from "../src/platform/db/database.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, mailShieldEnv, startShieldServer, waitFor, type ServerProcess } from "./cli.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "./databases.js";
import { startDovecot, type Dovecot } from "./dovecot.js";

/**
 * kill -9 of a Shield that is taking mail from a real Dovecot mailbox: after the restart
 * every message is exactly one report, and none is left behind or deleted unstored.
 */
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

const MESSAGES = 150;
let dovecot: Dovecot;
const servers: ServerProcess[] = [];
const dirs: string[] = [];
beforeAll(async () => {
  dovecot = await startDovecot();
}, 30_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop("SIGKILL")));
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  await dovecot?.stop();
});

async function mailbox<T>(work: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({ host: "127.0.0.1", port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.logout();
  }
}

async function messagesLeft(folder: string): Promise<number> {
  return mailbox(async (client) => {
    const status = await client.status(folder, { messages: true });
    return status ? (status.messages ?? -1) : -1;
  });
}

async function countRows(check: Database, table: "reports" | "inbound_messages"): Promise<number> {
  const row = await check.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

forEachDatabase((kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(() => database.drop());

  it(`stores each of ${MESSAGES} mailbox messages exactly once across a kill -9 in the middle of a poll`, async () => {
    const folder = `Crash-${randomBytes(4).toString("hex")}`;
    await mailbox(async (client) => {
      await client.mailboxCreate(folder);
      for (let i = 0; i < MESSAGES; i++) {
        await client.append(folder, Buffer.from(`Return-Path: <r${i}@example.org>\r\nFrom: r${i}@example.org\r\nTo: security@example.com\r\nSubject: Report ${i}\r\nMessage-ID: <crash-${i}@example.org>\r\n\r\nFinding number ${i}.\r\n`));
      }
    });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-imap-crash-"));
    dirs.push(dataDir);
    const env = mailShieldEnv(database.url, dataDir, {
      SHIELD_IMAP_URL: dovecot.urlOf(folder, "delete=true"),
    });
    const check = openDatabase(database.target);
    try {
      const first = await startShieldServer(env);
      servers.push(first);
      await waitFor("the poller in the middle of the mailbox", async () => ((await countRows(check, "reports")) >= 10 ? true : undefined), 60_000).catch((error) => {
        throw new Error(`${error.message}: ${first.stdout()}${first.stderr()}`);
      });
      first.child.kill("SIGKILL");
      await first.exited;
      const storedAtKill = await countRows(check, "reports");
      const left = await messagesLeft(folder);
      expect(storedAtKill).toBeLessThan(MESSAGES);
      // Nothing deleted unstored: every message is in the database or still in the mailbox (or both, when the kill fell between the two).
      expect(storedAtKill + left).toBeGreaterThanOrEqual(MESSAGES);

      const second = await startShieldServer(env);
      servers.push(second);
      await waitFor("an empty mailbox", async () => ((await messagesLeft(folder)) === 0 ? true : undefined), 120_000).catch((error) => {
        throw new Error(`${error.message}: ${second.stdout()}${second.stderr()}`);
      });
      await second.stop();
      expect(await countRows(check, "reports")).toBe(MESSAGES);
      const ids = await check.db.selectFrom("inbound_messages").select("message_id_header").execute();
      expect(new Set(ids.map((r) => r.message_id_header)).size).toBe(MESSAGES);
      expect(ids).toHaveLength(MESSAGES);
    } finally {
      await check.close();
    }
  }, 300_000);
});
