import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runShield } from "../test/cli.js";
import { ConfigError, loadConfig } from "./config.js";

/** The message of the ConfigError that `env` causes. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  it("runs on SQLite in ./data on 127.0.0.1:8080 when nothing is set", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      SHIELD_HOST: "127.0.0.1",
      SHIELD_PORT: 8080,
      SHIELD_LOG_LEVEL: "info",
      SHIELD_WORKER: true,
      SHIELD_WORKER_POLL_MS: 1000,
      SHIELD_TRUST_PROXY: false,
      SHIELD_INTAKE_RATE_LIMIT: 10,
      SHIELD_API_RATE_LIMIT: 600,
      SHIELD_MAX_BODY_BYTES: 1_048_576,
      dataDir: path.resolve("data"),
      database: { kind: "sqlite", file: path.resolve("data", "shield.db") },
      baseUrl: "http://127.0.0.1:8080",
    });
    expect(config.SMTP_URL).toBeUndefined();
    expect(config.SHIELD_BASE_URL).toBeUndefined();
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig({ SHIELD_PORT: "", DATABASE_URL: "", SMTP_URL: "" })).toMatchObject({ SHIELD_PORT: 8080, database: { kind: "sqlite" }, SMTP_URL: undefined });
  });

  it("keeps the SQLite database in the data directory unless DATABASE_URL says otherwise", () => {
    expect(loadConfig({ SHIELD_DATA_DIR: "/srv/shield" }).database).toEqual({ kind: "sqlite", file: "/srv/shield/shield.db" });
    expect(loadConfig({ DATABASE_URL: "/var/lib/shield/main.db" }).database).toEqual({ kind: "sqlite", file: "/var/lib/shield/main.db" });
    expect(loadConfig({ DATABASE_URL: "sqlite:///var/lib/shield/main.db" }).database).toEqual({ kind: "sqlite", file: "/var/lib/shield/main.db" });
    expect(loadConfig({ DATABASE_URL: "sqlite:rel/main.db" }).database).toEqual({ kind: "sqlite", file: path.resolve("rel/main.db") });
  });

  it("recognises PostgreSQL by its URL", () => {
    expect(loadConfig({ DATABASE_URL: "postgres://shield:pw@db.internal:5432/shield" }).database).toEqual({ kind: "postgres", url: "postgres://shield:pw@db.internal:5432/shield" });
    expect(loadConfig({ DATABASE_URL: "postgresql://db/shield?sslmode=require" }).database).toEqual({ kind: "postgres", url: "postgresql://db/shield?sslmode=require" });
  });

  it("refuses a DATABASE_URL of another kind instead of making a SQLite file of that name", () => {
    for (const url of ["mysql://db/shield", "postgress://db/shield", "postgres:/db/shield", "pg://db/shield", "file:///var/lib/shield.db"]) {
      const message = refusal({ DATABASE_URL: url });
      expect(message).toContain(`DATABASE_URL=${JSON.stringify(url)}: must be a postgres:// (or postgresql://) URL, or a SQLite file path`);
    }
    expect(refusal({ DATABASE_URL: "postgres://db:notaport/shield" })).toContain("DATABASE_URL=");
  });

  it("never repeats a password from a URL in its refusal", () => {
    const message = refusal({ DATABASE_URL: "mysql://shield:hunter2secret@db/shield", SMTP_URL: "http://mailer:s3cret-pass@mail.example.com" });
    expect(message).toContain('DATABASE_URL="mysql://shield:***@db/shield"');
    expect(message).toContain('SMTP_URL="http://mailer:***@mail.example.com"');
    expect(message).not.toMatch(/hunter2secret|s3cret-pass/);
  });

  it("refuses a bad SHIELD_PORT, naming it", () => {
    for (const port of ["http", "70000", "-1", "80.5"]) {
      expect(refusal({ SHIELD_PORT: port })).toBe(`Shield cannot start, these settings are wrong:\n  SHIELD_PORT=${JSON.stringify(port)}: must be a port number from 0 to 65535`);
    }
    expect(loadConfig({ SHIELD_PORT: "0" }).SHIELD_PORT).toBe(0);
  });

  it("refuses an SMTP_URL that is not smtp:// or smtps://", () => {
    expect(refusal({ SMTP_URL: "mail.example.com:587" })).toContain('SMTP_URL="mail.example.com:587": must be an smtp:// or smtps:// URL');
    expect(refusal({ SMTP_URL: "http://mail.example.com" })).toContain("SMTP_URL=");
    expect(loadConfig({ SMTP_URL: "smtps://user:pass@mail.example.com:465" }).SMTP_URL).toBe("smtps://user:pass@mail.example.com:465");
  });

  it("refuses a SHIELD_BASE_URL that is not an http(s) URL, and trims its trailing slash", () => {
    expect(refusal({ SHIELD_BASE_URL: "security.example.com" })).toContain('SHIELD_BASE_URL="security.example.com": ');
    expect(refusal({ SHIELD_BASE_URL: "ftp://security.example.com" })).toContain("SHIELD_BASE_URL=");
    expect(loadConfig({ SHIELD_BASE_URL: "https://security.example.com/" }).baseUrl).toBe("https://security.example.com");
  });

  it("derives the base URL from host and port, with brackets for IPv6", () => {
    expect(loadConfig({ SHIELD_HOST: "0.0.0.0", SHIELD_PORT: "9000" }).baseUrl).toBe("http://0.0.0.0:9000");
    expect(loadConfig({ SHIELD_HOST: "::1" }).baseUrl).toBe("http://[::1]:8080");
  });

  it("names every wrong variable at once", () => {
    const message = refusal({ SHIELD_PORT: "x", SMTP_URL: "x", SHIELD_BASE_URL: "x", DATABASE_URL: "mysql://x", SHIELD_WORKER: "yes" });
    for (const name of ["SHIELD_PORT", "SMTP_URL", "SHIELD_BASE_URL", "DATABASE_URL", "SHIELD_WORKER"]) expect(message).toContain(`\n  ${name}=`);
  });
});

describe("starting shield with a bad environment", () => {
  let cwd: string;
  beforeAll(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), "shield-config-"));
  });
  afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

  it("stops before listening, exits 78 and names each wrong variable", async () => {
    const dataDir = path.join(cwd, "data");
    const result = await runShield(["serve"], {
      SHIELD_DATA_DIR: dataDir,
      SHIELD_PORT: "http",
      SMTP_URL: "mail.example.com",
      SHIELD_BASE_URL: "security.example.com",
      DATABASE_URL: "mysql://db/shield",
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("Shield cannot start, these settings are wrong:");
    expect(result.stderr).toContain('SHIELD_PORT="http": must be a port number from 0 to 65535');
    expect(result.stderr).toContain('SMTP_URL="mail.example.com": must be an smtp:// or smtps:// URL');
    expect(result.stderr).toContain('SHIELD_BASE_URL="security.example.com"');
    expect(result.stderr).toContain('DATABASE_URL="mysql://db/shield": must be a postgres://');
    expect(result.stdout).toBe("");
    expect(fs.existsSync(dataDir)).toBe(false);
    expect(fs.existsSync(path.join(ROOT, "mysql:"))).toBe(false);
  });
});
