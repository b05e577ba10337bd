import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase, type Database } from "../src/platform/db/database.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, freePort, mailShieldEnv, startShieldServer, waitFor, type ServerProcess } from "./cli.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "./databases.js";
import { hasPostfix, startPostfix, type Postfix } from "./postfix.js";

/**
 * kill -9 of a Shield that Postfix is flooding with mail: every message Postfix saw
 * accepted (Shield's 250) is stored, and after the restart Postfix's retries bring the
 * rest, each exactly once (one cut between commit and 250 is recognised as a redelivery).
 */
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

const MESSAGES = 150;
if (!hasPostfix() && process.env.CI === "true") throw new Error("Postfix (Debian's postfix: postfix, smtp-source) is required under CI=true");

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop("SIGKILL")));
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function storedMessageIds(check: Database): Promise<string[]> {
  const rows = await check.db.selectFrom("inbound_messages").select("message_id_header").execute();
  return rows.map((r) => r.message_id_header ?? "");
}

forEachDatabase((kind) => {
  let database: TestDatabase;
  let postfix: Postfix | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await postfix?.stop();
    await database.drop();
  });

  it.skipIf(!hasPostfix())(`stores every message Postfix saw accepted across a kill -9 in the middle of a flood of ${MESSAGES}, and the rest after the restart, each once`, async () => {
    const smtpPort = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-smtp-crash-"));
    dirs.push(dataDir);
    const env = mailShieldEnv(database.url, dataDir, {
      SHIELD_BASE_URL: "https://security.example.com",
      SHIELD_SMTP_LISTEN: `127.0.0.1:${smtpPort}`,
      SHIELD_SMTP_MAX_CONNECTIONS: "40",
      SHIELD_SMTP_MESSAGES_PER_MINUTE: "1000000",
    });
    const check = openDatabase(database.target);
    try {
      const first = await startShieldServer(env);
      servers.push(first);
      postfix = await startPostfix({ domain: "example.com", nextHop: `127.0.0.1:${smtpPort}`, connections: 20 });
      await postfix.smtpSource({ messages: MESSAGES, sessions: 20, from: "flood@flood.example.net", to: "security@example.com" });
      await waitFor("Shield in the middle of the flood", async () => ((await storedMessageIds(check)).length >= 30 ? true : undefined), 120_000).catch((error: Error) => {
        throw new Error(`${error.message}: ${first.stdout()}${first.stderr()}\n${postfix!.log().split("\n").slice(-20).join("\n")}`);
      });
      first.child.kill("SIGKILL");
      await first.exited;

      // Everything Postfix heard 250 for is stored; it keeps the rest.
      const acceptedAtKill = postfix.deliveries().filter((d) => d.status === "sent");
      const storedAtKill = new Set(await storedMessageIds(check));
      expect(acceptedAtKill.length).toBeGreaterThan(0);
      expect(acceptedAtKill.length).toBeLessThan(MESSAGES);
      expect(acceptedAtKill.filter((d) => !storedAtKill.has(d.messageId))).toEqual([]);

      const second = await startShieldServer(env);
      servers.push(second);
      await postfix.flush();
      await waitFor(
        "Postfix to hand over the rest",
        async () => {
          if (postfix!.deliveries().filter((d) => d.status === "sent").length === MESSAGES && (await postfix!.queued()) === 0) return true;
          await new Promise((r) => setTimeout(r, 250));
          return undefined;
        },
        240_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: ${postfix!.deliveries().filter((d) => d.status === "sent").length} sent\n${postfix!.log().split("\n").slice(-20).join("\n")}\n${second.stderr()}`);
      });
      await second.stop();

      const delivered = postfix.deliveries().filter((d) => d.status === "sent");
      expect(new Set(delivered.map((d) => d.queueId)).size).toBe(MESSAGES);
      // Postfix tried again what it had not heard 250 for.
      expect(postfix.deliveries().some((d) => d.status === "deferred")).toBe(true);
      const stored = await storedMessageIds(check);
      expect(stored).toHaveLength(MESSAGES);
      expect(new Set(stored).size).toBe(MESSAGES);
      expect(new Set(delivered.map((d) => d.messageId))).toEqual(new Set(stored));
      const reports = await check.db.selectFrom("reports").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      expect(Number(reports.n)).toBe(MESSAGES);
    } finally {
      await check.close();
    }
  }, 600_000);
});
