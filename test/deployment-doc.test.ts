import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema, loadConfig } from "../src/config.js";
import { decodeMasterKey } from "../src/platform/crypto/master-key.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, freePort, ROOT } from "./cli.js";
import { forEachDatabase, TEST_POSTGRES_URL } from "./databases.js";
import { buildReportInput } from "./factories.js";
import { createTestShield, type TestShield } from "./shield.js";

/**
 * docs/deployment.md promises that every snippet on it is checked here: the units by
 * systemd-analyze, the proxy by nginx -t, the settings by the configuration schema, and the
 * backup command and the restore drill by running them against a test Shield.
 */
const doc = fs.readFileSync(path.join(ROOT, "docs", "deployment.md"), "utf8");

/** The fenced blocks of the page, each named by its first line (`# /etc/shield/shield.env`, `# restore drill …`). */
function blocks(): Array<{ lang: string; name: string; body: string }> {
  return [...doc.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, name: /^# (.*)$/m.exec(m[2]!)?.[1] ?? "", body: m[2]! }));
}

function block(namePrefix: string): string {
  const found = blocks().filter((b) => b.name.startsWith(namePrefix));
  if (found.length !== 1) throw new Error(`docs/deployment.md has ${found.length} blocks named "${namePrefix}…"`);
  return found[0]!.body;
}

/** KEY=value lines of an environment file. */
function environmentFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The values of a directive in a unit's [Service] section (every occurrence). */
function directive(unit: string, name: string): string[] {
  return [...unit.matchAll(new RegExp(`^${name}=(.*)$`, "gm"))].map((m) => m[1]!);
}

function hasBinary(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

/** Runs systemd-analyze verify over unit files written under their own names; returns what it said about them. */
function verifyUnits(units: Record<string, string>): { status: number | null; about: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-units-"));
  try {
    const files = Object.entries(units).map(([name, text]) => {
      const file = path.join(dir, name);
      // Where Node is elsewhere than the page says, the check is of the unit, not of the machine.
      fs.writeFileSync(file, fs.existsSync("/usr/bin/node") ? text : text.replaceAll("/usr/bin/node", process.execPath));
      return file;
    });
    const result = spawnSync("systemd-analyze", ["verify", ...files], { encoding: "utf8" });
    const about = `${result.stdout}\n${result.stderr}`.split("\n").filter((line) => line.includes(dir) || Object.keys(units).some((n) => line.includes(n)));
    return { status: result.status, about };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const env = environmentFile(block("/etc/shield/shield.env"));
const service = block("/etc/systemd/system/shield@.service");
const backupService = block("/etc/systemd/system/shield-backup.service");
const backupTimer = block("/etc/systemd/system/shield-backup.timer");

describe("docs/deployment.md", () => {
  it("names only settings Shield has, and its settings file is one Shield accepts", () => {
    const named = new Set([...doc.matchAll(/\b((?:SHIELD|SMTP|DATABASE)_[A-Z0-9_]+)\b/g)].map((m) => m[1]!));
    const unknown = [...named].filter((name) => !(name in configSchema.shape));
    expect(unknown).toEqual([]);
    const config = loadConfig({ ...env, SHIELD_PORT: "8080" });
    expect(config.dataDir).toBe("/var/lib/shield");
    expect(config.baseUrl).toMatch(/^https:\/\//);
  });

  it("trusts exactly the proxy in front, which overwrites X-Forwarded-For and forwards to the address Shield listens on", () => {
    const nginx = block("/etc/nginx/conf.d/shield.conf");
    expect(loadConfig({ ...env, SHIELD_PORT: "8080" }).SHIELD_TRUST_PROXY).toEqual([env.SHIELD_HOST]);
    expect(nginx).toContain(`server ${env.SHIELD_HOST}:8080;`);
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(nginx).not.toContain("$proxy_add_x_forwarded_for");
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-Proto https;/);
    // Room for a report with the most attachments Shield takes.
    const bodyLimit = Number(/client_max_body_size (\d+)m;/.exec(nginx)?.[1]) * 1024 * 1024;
    expect(bodyLimit).toBeGreaterThan(loadConfig({}).SHIELD_ATTACHMENT_MAX_TOTAL_BYTES);
  });

  it.runIf(hasBinary("nginx") && hasBinary("openssl"))("has an nginx configuration that nginx -t accepts", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-nginx-"));
    try {
      execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=security.example.com", "-days", "1", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
      const site = block("/etc/nginx/conf.d/shield.conf")
        .replace("/etc/letsencrypt/live/security.example.com/fullchain.pem", path.join(dir, "cert.pem"))
        .replace("/etc/letsencrypt/live/security.example.com/privkey.pem", path.join(dir, "key.pem"));
      fs.writeFileSync(path.join(dir, "shield.conf"), site);
      fs.writeFileSync(path.join(dir, "nginx.conf"), `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  access_log off;\n  include ${dir}/shield.conf;\n}\n`);
      const result = spawnSync("nginx", ["-t", "-p", dir, "-c", path.join(dir, "nginx.conf")], { encoding: "utf8" });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/\[(warn|emerg|error)\]/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the service owner-only, without new privileges, on a read-only system with the data directory its only writable path", () => {
    for (const unit of [service, backupService]) {
      expect(directive(unit, "UMask")).toEqual(["0077"]);
      expect(directive(unit, "NoNewPrivileges")).toEqual(["yes"]);
      expect(directive(unit, "ProtectSystem")).toEqual(["strict"]);
      expect(directive(unit, "ReadWritePaths")).toEqual([env.SHIELD_DATA_DIR]);
      expect(directive(unit, "PrivateTmp")).toEqual([]);
      expect(directive(unit, "User")).toEqual(["shield"]);
      expect(directive(unit, "EnvironmentFile")).toContain("/etc/shield/shield.env");
    }
    // The master key comes from a root-only file systemd reads, never from the data directory.
    expect(directive(service, "EnvironmentFile")).toContain("/etc/shield/master.env");
    expect(directive(service, "ExecStart")).toEqual(["/usr/bin/node /opt/shield/dist/cli/shield.js serve"]);
    expect(directive(service, "Environment")).toEqual(["SHIELD_PORT=%i"]);
  });

  it("sets up mail in one of three ways Shield accepts, its password out of the world-readable unit", () => {
    const mailEnvironments = blocks().filter((b) => b.name.startsWith("/etc/shield/mail.env"));
    expect(mailEnvironments).toHaveLength(3);
    const [mx, behind, mailbox] = mailEnvironments.map((b) => loadConfig({ ...env, ...environmentFile(b.body), SHIELD_PORT: "8080" }));
    expect(mx!.SHIELD_SMTP_LISTEN).toBe("0.0.0.0:25");
    expect(mx!.SHIELD_SMTP_TLS_CERT).toBeDefined();
    expect(behind!.SHIELD_SMTP_LISTEN).toBe("127.0.0.1:2525");
    expect(mailbox!.SHIELD_IMAP_URL).toMatch(/^imaps:\/\//);
    const dropIn = block("/etc/systemd/system/shield@8080.service.d/mail.conf");
    expect(directive(dropIn, "EnvironmentFile")).toEqual(["/etc/shield/mail.env"]);
    expect(dropIn).not.toMatch(/SHIELD_IMAP_URL|password/i);
    expect(directive(dropIn, "CapabilityBoundingSet")).toEqual(["CAP_NET_BIND_SERVICE"]);
    // Postfix hands the program's addresses to the port Shield listens on behind it.
    const transport = block("/etc/postfix/transport");
    for (const line of transport.split("\n").filter((l) => l.trim() && !l.startsWith("#"))) {
      expect(line).toMatch(new RegExp(`^\\S+@\\S+\\s+smtp:\\[127\\.0\\.0\\.1\\]:${behind!.SHIELD_SMTP_LISTEN!.split(":")[1]}$`));
    }
  });

  it.runIf(hasBinary("systemd-analyze"))("has a mail drop-in systemd accepts with the service", () => {
    const dropIn = block("/etc/systemd/system/shield@8080.service.d/mail.conf");
    const combined = `${service}\n${dropIn.split("\n").filter((l) => !l.startsWith("#")).join("\n")}`;
    const serve = verifyUnits({ "shield@.service": combined, "shield@8080.service": combined });
    expect(serve.about).toEqual([]);
    expect(serve.status).toBe(0);
  });

  it("creates the data directory owner-only for the service's user, as the unit expects", () => {
    const install = block("install");
    expect(spawnSync("bash", ["-n"], { input: install }).status).toBe(0);
    expect(install).toContain(`install -d -o shield -g shield -m 0700 ${env.SHIELD_DATA_DIR}`);
  });

  it("makes a master key Shield accepts", () => {
    const script = block("/etc/shield/master.env");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-master-"));
    try {
      const run = script.replaceAll("/etc/shield/master.env", path.join(dir, "master.env"));
      execFileSync("sh", ["-eu"], { input: run });
      const written = environmentFile(fs.readFileSync(path.join(dir, "master.env"), "utf8"));
      expect(decodeMasterKey(written.SHIELD_MASTER_KEY!)).toHaveLength(32);
      expect(loadConfig({ SHIELD_MASTER_KEY: written.SHIELD_MASTER_KEY }).SHIELD_MASTER_KEY).toBe(written.SHIELD_MASTER_KEY);
      expect((fs.statSync(path.join(dir, "master.env")).mode & 0o777).toString(8)).toBe("600");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is linked from the README's security notes, which name what an operator must keep secret", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const notes = readme.slice(readme.indexOf("## Security notes"));
    expect(notes).toContain("](docs/deployment.md)");
    for (const secret of ["master.key", "SHIELD_MASTER_KEY", "database", "Backups", "API tokens"]) expect(notes).toContain(secret);
  });

  it.runIf(hasBinary("systemd-analyze"))("has units systemd-analyze verify finds nothing wrong with", () => {
    const serve = verifyUnits({ "shield@.service": service, "shield@8080.service": service });
    expect(serve.about).toEqual([]);
    expect(serve.status).toBe(0);
    const backup = verifyUnits({ "shield-backup.service": backupService, "shield-backup.timer": backupTimer });
    expect(backup.about).toEqual([]);
    expect(backup.status).toBe(0);
  });
});

forEachDatabase((kind) => {
  describe(`docs/deployment.md, backups and the restore drill`, () => {
    let shield: TestShield;
    let scratch: string;
    const masterKey = randomBytes(32).toString("base64");
    let drillDatabase: string | undefined;

    beforeAll(async () => {
      await ensureBuilt();
      shield = await createTestShield(kind, { env: { SHIELD_MASTER_KEY: masterKey } });
      for (let i = 0; i < 3; i++) {
        const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ title: `Drilled ${i}` }) });
        expect(response.statusCode).toBe(201);
      }
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), "shield-drill-"));
    }, BUILD_TIMEOUT_MS);

    afterAll(async () => {
      await shield?.destroy();
      if (drillDatabase) spawnSync("dropdb", ["--if-exists", "--force", `--maintenance-db=${TEST_POSTGRES_URL}`, drillDatabase]);
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    });

    /** The unit's own command line, with the page's paths replaced by this test's. */
    const commandOf = (line: string) => line.replaceAll("/opt/shield", ROOT).replaceAll("/usr/bin/node", process.execPath).replaceAll("/var/lib/shield", shield.dataDir);

    it("backs up with the backup unit's commands, then the restore drill restores, verifies and starts the newest backup", async () => {
      const unitEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env, SHIELD_DATA_DIR: shield.dataDir, DATABASE_URL: shield.testDatabase.url, SHIELD_LOG_LEVEL: "warn" };
      for (const line of [...directive(backupService, "ExecStart"), ...directive(backupService, "ExecStartPost")]) {
        const result = spawnSync("sh", ["-c", commandOf(line)], { env: unitEnv, encoding: "utf8", timeout: 120_000 });
        expect(result.status, `${line}\n${result.stdout}${result.stderr}`).toBe(0);
      }
      expect(fs.readdirSync(path.join(shield.dataDir, "backups"))).toHaveLength(1);

      fs.writeFileSync(path.join(scratch, "master.env"), `SHIELD_MASTER_KEY=${masterKey}\n`, { mode: 0o600 });
      const drillEnv: Record<string, string | undefined> = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TMPDIR: scratch,
        BACKUPS: path.join(shield.dataDir, "backups"),
        CLI: path.join(ROOT, "dist", "cli", "shield.js"),
        MASTER_ENV: path.join(scratch, "master.env"),
        DRILL_PORT: String(await freePort()),
        SHIELD_LOG_LEVEL: "warn",
      };
      if (kind === "postgres") {
        // As the page says: an empty database of its own for the drill.
        drillDatabase = `shield_drill_${randomBytes(5).toString("hex")}`;
        execFileSync("createdb", [`--maintenance-db=${TEST_POSTGRES_URL}`, drillDatabase]);
        const url = new URL(TEST_POSTGRES_URL);
        url.pathname = `/${drillDatabase}`;
        drillEnv.DATABASE_URL = url.toString();
      }
      const drill = spawnSync("bash", ["-c", block("restore drill")], { env: drillEnv, encoding: "utf8", timeout: 180_000 });
      expect(drill.status, drill.stdout + drill.stderr).toBe(0);
      expect(drill.stdout).toMatch(/Restored the backup of .*audit log intact: \d+ event\(s\), ending at the head the backup recorded/s);
      expect(drill.stdout).toMatch(/The audit log is intact: .* it still reaches the anchored head/);
      expect(drill.stdout).toMatch(/restore drill passed: /);
      // The drill cleans up after itself.
      expect(fs.readdirSync(scratch).filter((name) => name !== "master.env")).toEqual([]);
    }, 300_000);
  });
});
