import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase } from "../src/platform/db/database.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, startShieldServer, waitFor, type ServerProcess } from "./cli.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "./databases.js";
import { buildReportInput } from "./factories.js";
import { startSmtpRelay, type SmtpRelay } from "./smtp-relay.js";

/**
 * kill -9 while receipts are being sent: the restarted server sends each of them within
 * seconds (not when a five-minute lease runs out), and each exactly once.
 */
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop("SIGKILL")));
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});


function receiptCounts(relay: SmtpRelay): Map<number, number> {
  const counts = new Map<number, number>();
  for (const message of relay.received) {
    const match = /^Subject: \[#(\d+)\] We received your report/m.exec(message);
    if (match) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1);
  }
  return counts;
}

forEachDatabase((kind) => {
  let database: TestDatabase;
  let relay: SmtpRelay;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    relay = await startSmtpRelay({ holdDeliveries: true });
  });
  afterAll(async () => {
    await relay.close();
    await database.drop();
  });

  it("sends every receipt that was in flight at a kill -9 within 10 s of the restart, exactly once", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-crash-"));
    dirs.push(dataDir);
    const env = { DATABASE_URL: database.url, SHIELD_DATA_DIR: dataDir, SMTP_URL: relay.url, SHIELD_WORKER_POLL_MS: "50", SHIELD_MASTER_KEY: randomBytes(32).toString("base64") };
    const first = await startShieldServer(env);
    servers.push(first);
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await fetch(`${first.baseUrl}/api/v1/reports`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(buildReportInput()) });
      expect(response.status).toBe(201);
      ids.push(((await response.json()) as { id: number }).id);
    }
    // The relay holds the messages it reads: the worker is in the middle of sending.
    await waitFor("receipts in flight", () => (relay.held >= 1 ? true : undefined), 60_000).catch((error) => {
      throw new Error(`${error.message}: ${first.stdout()}${first.stderr()}`);
    });
    first.child.kill("SIGKILL");
    await first.exited;

    const check = openDatabase(database.target);
    try {
      const running = await check.db.selectFrom("jobs").select((eb) => eb.fn.countAll<number>().as("n")).where("kind", "=", "mail.receipt").where("state", "=", "running").executeTakeFirstOrThrow();
      expect(Number(running.n)).toBeGreaterThan(0);

      relay.release();
      const second = await startShieldServer(env);
      servers.push(second);
      const restartedAt = Date.now();
      await waitFor("every receipt", () => (ids.every((id) => receiptCounts(relay).has(id)) ? true : undefined), 20_000);
      expect(Date.now() - restartedAt).toBeLessThan(10_000);
      await waitFor("every receipt job done", async () => {
        const notDone = await check.db.selectFrom("jobs").select("id").where("kind", "=", "mail.receipt").where("state", "!=", "done").execute();
        return notDone.length === 0 ? true : undefined;
      }, 10_000);
      const counts = receiptCounts(relay);
      expect(ids.map((id) => counts.get(id))).toEqual(ids.map(() => 1));
      expect(await second.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await check.close();
    }
  }, 120_000);
});
