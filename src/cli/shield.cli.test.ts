import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, CLI_TIMEOUT_MS, ensureBuilt, runShield, spawnShield } from "../../test/cli.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../../test/databases.js";
import { loadConfig } from "../config.js";
import { createShield, type Shield } from "../main.js";
import { createLogger } from "../platform/logger.js";

forEachDatabase((kind) => {
  describe("shield migrate, user add, token create", () => {
    let database: TestDatabase;
    let dataDir: string;
    let env: Record<string, string>;

    beforeAll(async () => {
      database = await createTestDatabase(kind);
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-cli-"));
      env = { DATABASE_URL: database.url, SHIELD_DATA_DIR: dataDir };
    });
    afterAll(async () => {
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("migrates an empty database, then finds nothing left to do", async () => {
      const first = await runShield(["migrate", "--json"], env);
      expect(first.code).toBe(0);
      const applied = JSON.parse(first.stdout);
      expect(applied.database).toBe(kind);
      expect(applied.applied[0]).toBe("001-foundation");
      const second = await runShield(["migrate", "--json"], env);
      expect(JSON.parse(second.stdout)).toEqual({ database: kind, applied: [] });
      const human = await runShield(["migrate"], env);
      expect(human.stdout).toBe("The database is up to date.\n");
    });

    it("adds a team member, and refuses the same address twice, an unknown role and a bad address", async () => {
      const added = await runShield(["user", "add", "Dana@Team.Example.Test", "--role", "triager", "--name", "Dana", "--json"], env);
      expect(added.code).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({ id: expect.any(Number), email: "dana@team.example.test", name: "Dana", role: "triager", disabledAt: null });

      const [duplicate, badRole, badEmail, noRole] = await Promise.all([
        runShield(["user", "add", "dana@team.example.test", "--role", "admin"], env),
        runShield(["user", "add", "eve@team.example.test", "--role", "boss"], env),
        runShield(["user", "add", "not-an-address", "--role", "viewer"], env),
        runShield(["user", "add", "frank@team.example.test"], env),
      ]);
      expect(duplicate.code).toBe(1);
      expect(duplicate.stderr).toBe("shield: A team member dana@team.example.test already exists.\n");
      expect(badRole.code).not.toBe(0);
      expect(badRole.stderr).toContain("argument 'boss' is invalid. Allowed choices are viewer, triager, admin.");
      expect(badEmail.code).toBe(1);
      expect(badEmail.stderr).toMatch(/^shield: The team member is not valid\.\n {2}email: /);
      expect(noRole.code).not.toBe(0);
      expect(noRole.stderr).toContain("required option '--role <role>' not specified");

      const list = await runShield(["user", "list", "--json"], env);
      expect(JSON.parse(list.stdout).map((m: { email: string; role: string }) => [m.email, m.role])).toEqual([["dana@team.example.test", "triager"]]);
    });

    describe("token create", () => {
      let shield: Shield;
      afterAll(async () => shield?.close());

      it("prints a token once that then works against the API, and refuses an unknown address", async () => {
        const [created, unknown, plain] = await Promise.all([
          runShield(["token", "create", "dana@team.example.test", "--name", "ci", "--json"], env),
          runShield(["token", "create", "nobody@team.example.test", "--json"], env),
          runShield(["token", "create", "dana@team.example.test"], env),
        ]);
        expect(created.code).toBe(0);
        const output = JSON.parse(created.stdout);
        expect(output).toEqual({ id: expect.any(Number), token: expect.stringMatching(/^shd_[A-Za-z0-9_-]{43}$/), email: "dana@team.example.test", role: "triager", expiresAt: null });
        expect(unknown.code).toBe(1);
        expect(JSON.parse(unknown.stdout)).toEqual({ error: { code: "user_not_found", message: "No team member nobody@team.example.test." } });
        expect(unknown.stderr).toBe("");
        expect(plain.stderr).toBe("");
        expect(plain.stdout).toMatch(/^shd_[A-Za-z0-9_-]{43}\n$/);

        const config = loadConfig({ ...env, SHIELD_LOG_LEVEL: "silent" });
        shield = await createShield(config, createLogger("silent"));
        const stored = await shield.database.db.selectFrom("api_tokens").selectAll().execute();
        expect(JSON.stringify(stored)).not.toContain(output.token);
        for (const token of [output.token, plain.stdout.trim()]) {
          const response = await shield.app.inject({ method: "GET", url: "/api/v1/reports", headers: { authorization: `Bearer ${token}` } });
          expect(response.statusCode).toBe(200);
        }
      });
    });
  });
});

describe("shield pointed at a data directory without a database", () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-cli-"));
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("says so, in words and as JSON, and creates nothing", async () => {
    const env = { SHIELD_DATA_DIR: path.join(dataDir, "typo") };
    const human = await runShield(["user", "add", "dana@team.example.test", "--role", "admin"], env);
    expect(human.code).toBe(1);
    expect(human.stderr).toBe(`shield: There is no Shield database at ${path.join(dataDir, "typo", "shield.db")}. Check SHIELD_DATA_DIR and DATABASE_URL, or create one with \`shield migrate\` (\`shield serve\` does that too).\n`);
    const json = await runShield(["user", "list", "--json"], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: "no_database", message: expect.stringContaining("There is no Shield database at") } });
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  forEachDatabase((kind) => {
    it("says so for a database Shield has never migrated, and leaves it empty", async () => {
      const database = await createTestDatabase(kind);
      try {
        if (kind === "sqlite") fs.writeFileSync(database.url, "");
        const result = await runShield(["token", "create", "dana@team.example.test", "--json"], { DATABASE_URL: database.url, SHIELD_DATA_DIR: dataDir });
        expect(result.code).toBe(1);
        expect(JSON.parse(result.stdout).error.code).toBe("no_database");
        const migrated = await runShield(["migrate", "--json"], { DATABASE_URL: database.url, SHIELD_DATA_DIR: dataDir });
        expect(JSON.parse(migrated.stdout).applied[0]).toBe("001-foundation");
      } finally {
        await database.drop();
      }
    });
  });
});

describe("shield --json errors", () => {
  it("are one JSON object on stdout with a non-zero exit, for wrong arguments too", async () => {
    const env = { SHIELD_DATA_DIR: os.tmpdir() };
    const badRole = await runShield(["user", "add", "eve@team.example.test", "--role", "boss", "--json"], env);
    expect(badRole.code).not.toBe(0);
    expect(JSON.parse(badRole.stdout)).toEqual({ error: { code: "invalid_arguments", message: expect.stringContaining("argument 'boss' is invalid") } });
    expect(badRole.stderr).toBe("");
    const badConfig = await runShield(["user", "list", "--json"], { ...env, SHIELD_PORT: "http" });
    expect(badConfig.code).toBe(78);
    expect(JSON.parse(badConfig.stdout).error).toEqual({ code: "invalid_config", message: expect.stringContaining('SHIELD_PORT="http"') });
  });
});

describe("the shield binary", () => {
  beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

  // The one test that starts the compiled CLI as an operator does; the others call the same
  // entry point in-process.
  it("lists its commands, runs one against a database and exits with its code", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-cli-"));
    try {
      const help = await spawnShield(["--help"], { SHIELD_DATA_DIR: dataDir });
      expect(help.code).toBe(0);
      for (const command of ["serve", "migrate", "user", "token", "audit", "jobs", "key", "settings", "backup", "restore", "policy", "import"]) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
      expect((await spawnShield(["migrate"], { SHIELD_DATA_DIR: dataDir })).code).toBe(0);
      const added = await spawnShield(["user", "add", "dana@team.example.test", "--role", "admin", "--json"], { SHIELD_DATA_DIR: dataDir });
      expect(added.code).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({ email: "dana@team.example.test", role: "admin" });
      const again = await spawnShield(["user", "add", "dana@team.example.test", "--role", "admin"], { SHIELD_DATA_DIR: dataDir });
      expect(again.code).toBe(1);
      expect(again.stderr).toBe("shield: A team member dana@team.example.test already exists.\n");
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 4 * CLI_TIMEOUT_MS);
});
