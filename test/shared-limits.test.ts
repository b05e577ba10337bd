import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, startShieldServer, type ServerProcess } from "./cli.js";
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from "./databases.js";
import { buildReportInput } from "./factories.js";
import { startSmtpRelay, type SmtpRelay } from "./smtp-relay.js";

/**
 * The limits that must hold for a whole site, not per process: two `shield serve`
 * processes on one PostgreSQL database count the intake per client address and the
 * receipts per recipient together.
 */
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

describe.runIf(testDatabaseKinds().includes("postgres"))("two processes on one PostgreSQL database share their limits", () => {
  let database: TestDatabase;
  let relay: SmtpRelay;
  let servers: ServerProcess[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    relay = await startSmtpRelay();
    const shared = {
      DATABASE_URL: database.url,
      SMTP_URL: relay.url,
      SHIELD_WORKER_POLL_MS: "50",
      SHIELD_MASTER_KEY: randomBytes(32).toString("base64"),
      SHIELD_INTAKE_RATE_LIMIT: "12",
      SHIELD_LOG_LEVEL: "info",
      SHIELD_RECEIPT_LIMIT: "3",
    };
    const dataDir = () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-limits-"));
      dirs.push(dir);
      return dir;
    };
    servers = await Promise.all([startShieldServer({ ...shared, SHIELD_DATA_DIR: dataDir() }), startShieldServer({ ...shared, SHIELD_DATA_DIR: dataDir() })]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await relay?.close();
    await database?.drop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Submits a report from the client address `from`: every address in 127.0.0.0/8 is this
   * machine, so each test is a client of its own without waiting for the intake's window
   * of the one before to end. Answers the status.
   */
  const post = (server: ServerProcess, input: object, from: string) =>
    new Promise<number>((resolve, reject) => {
      const body = JSON.stringify(input);
      const request = http.request(
        `${server.baseUrl}/api/v1/reports`,
        { method: "POST", localAddress: from, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
        (response) => {
          response.resume();
          response.on("end", () => resolve(response.statusCode!));
        },
      );
      request.on("error", reject);
      request.end(body);
    });

  /** The intake counts in fixed windows of a minute. */
  const minuteNow = () => Math.floor(Date.now() / 60_000);

  it("counts one client's reports against one limit, whichever process takes them", { timeout: 120_000 }, async () => {
    // A try that spans the turn of a minute counts in two windows and proves nothing: it is
    // made again from a new address (two turns in a row would take over a minute of tries).
    for (let attempt = 1; ; attempt++) {
      const from = `127.0.0.${10 + attempt}`;
      const minute = minuteNow();
      const statuses: number[] = [];
      // Alternating between the processes, from one address.
      for (let i = 0; i < 16; i++) statuses.push(await post(servers[i % 2]!, buildReportInput({ title: `Limit ${i}` }), from));
      if (minuteNow() !== minute && attempt < 3) continue;
      expect(minuteNow()).toBe(minute);
      expect(statuses).toEqual([...Array(12).fill(201), 429, 429, 429, 429]);
      break;
    }
  });

  it("mails one address at most its limit of receipts, whichever process's worker sends them", { timeout: 120_000 }, async () => {
    const victim = `victim-${randomBytes(3).toString("hex")}@example.net`;
    // Four for the victim among eight for others, to both processes at once, from a client
    // the intake has not counted yet: twelve are within its limit whatever the window.
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post(servers[i % 2]!, buildReportInput({ title: `Victim ${i}`, ...(i % 3 === 0 ? { reporter: { name: "V", email: victim } } : {}) }), "127.0.0.2"),
      ),
    );
    expect(statuses).toEqual(Array(12).fill(201));

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      for (const deadline = Date.now() + 60_000; ; ) {
        const { rows } = await client.query<{ n: number }>("select count(*)::int as n from jobs where kind = 'mail.receipt' and state = 'done'");
        if (rows[0]!.n >= 12 + 12) break;
        if (Date.now() > deadline) throw new Error("the receipt jobs did not finish");
        await new Promise((r) => setTimeout(r, 100));
      }
      const { rows } = await client.query<{ n: number }>("select count(*)::int as n from jobs where kind = 'mail.receipt-digest' and state = 'pending'");
      expect(rows[0]!.n).toBe(1);
    } finally {
      await client.end();
    }
    // Both workers took receipts from the queue (otherwise this proves nothing about sharing).
    const sentBy = servers.map((s) => s.stdout().split("\n").filter((line) => line.includes('"msg":"job done"') && line.includes('"kind":"mail.receipt"')).length);
    expect(sentBy.every((n) => n > 0)).toBe(true);
    expect(relay.received.filter((eml) => new RegExp(`^To: ${victim}`, "m").test(eml))).toHaveLength(3);
  });
});
