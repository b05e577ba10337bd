import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, runShield, runShieldJson, startShieldServer, type ServerProcess } from "../../../test/cli.js";
import { createTestDatabase, type TestDatabase } from "../../../test/databases.js";
import { inviteTokenOf } from "../../../test/sign-in.js";
import { openDatabase, type Database } from "../../platform/db/database.js";
import { systemClock } from "../../shared/clock.js";
import { findOpenInvite } from "./index.js";

describe("shield user add / user invite", () => {
  let testDatabase: TestDatabase;
  let dataDir: string;
  let env: Record<string, string>;
  let database: Database | undefined;

  beforeAll(async () => {
    testDatabase = await createTestDatabase("sqlite");
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-data-"));
    env = { DATABASE_URL: testDatabase.url, SHIELD_DATA_DIR: dataDir, SHIELD_BASE_URL: "https://shield.example.test" };
    expect((await runShield(["migrate"], env)).code).toBe(0);
  });
  afterAll(async () => {
    await database?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await testDatabase.drop();
  });

  const isOpen = async (url: string) => {
    database ??= openDatabase(testDatabase.target);
    try {
      await findOpenInvite({ db: database.db, clock: systemClock }, inviteTokenOf(url));
      return true;
    } catch {
      return false;
    }
  };

  it("user add prints the new member's one-time invite link", async () => {
    const result = await runShield(["user", "add", "ada@example.com", "--role", "triager", "--json"], env);
    expect(result.code).toBe(0);
    const added = JSON.parse(result.stdout);
    expect(added).toMatchObject({ email: "ada@example.com", role: "triager" });
    expect(added.inviteUrl).toMatch(/^https:\/\/shield\.example\.test\/invite\/[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(added.inviteExpiresAt) - Date.now()).toBeGreaterThan(47 * 3_600_000);
    expect(await isOpen(added.inviteUrl)).toBe(true);
  });

  it("user invite prints a new link that replaces the older one", async () => {
    const first = JSON.parse((await runShield(["user", "invite", "ada@example.com", "--json"], env)).stdout);
    const second = await runShield(["user", "invite", "ADA@example.com"], env);
    expect(second.code).toBe(0);
    const url = second.stdout.trim();
    expect(url).toMatch(/^https:\/\/shield\.example\.test\/invite\//);
    expect(await isOpen(url)).toBe(true);
    expect(await isOpen(first.inviteUrl)).toBe(false);
  });

  it("user invite refuses an address that is not on the team", async () => {
    const result = await runShield(["user", "invite", "nobody@example.com"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("shield: No team member nobody@example.com.\n");
  });
});

describe("links printed while Shield runs", () => {
  let testDatabase: TestDatabase;
  let dataDir: string;
  let server: ServerProcess | undefined;
  beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);
  beforeAll(async () => {
    testDatabase = await createTestDatabase("sqlite");
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-data-"));
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await testDatabase.drop();
  });

  it("open on the running server, though the CLI's environment names neither its port nor its URL", async () => {
    const env = { DATABASE_URL: testDatabase.url, SHIELD_DATA_DIR: dataDir };
    server = await startShieldServer(env);
    const added = await runShieldJson(["user", "add", "ada@example.com", "--role", "triager"], env);
    expect(added.inviteUrl.startsWith(`${server.baseUrl}/invite/`)).toBe(true);
    const invited = await runShield(["user", "invite", "ada@example.com"], env);
    expect(invited.stdout.startsWith(`${server.baseUrl}/invite/`)).toBe(true);
    const page = await fetch(invited.stdout.trim());
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("ada@example.com");
    // Told the public address, the CLI uses it.
    const told = await runShieldJson(["user", "invite", "ada@example.com"], { ...env, SHIELD_BASE_URL: "https://security.example.test" });
    expect(told.inviteUrl).toMatch(/^https:\/\/security\.example\.test\/invite\//);
  }, 60_000);
});
