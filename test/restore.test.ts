import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashSecret } from "../src/platform/crypto/secrets.js";
import { ensureBuilt, runShield, spawnShield, startShieldServer, BUILD_TIMEOUT_MS } from "./cli.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "./databases.js";
import { createTestShield, type TestShield } from "./shield.js";
import { cookiesFrom, openForm, postForm, reportFormParts } from "./web-forms.js";

interface Acknowledged {
  id: number;
  title: string;
  token: string;
  attachment: Buffer;
}

/**
 * The restore drill an operator runs: back up a Shield that is taking reports, restore into
 * a new, empty place, start Shield there and check what reporters and the team rely on.
 */
forEachDatabase((kind) => {
  describe("shield restore", () => {
    let shield: TestShield;
    let auth: { authorization: string };
    let scratch: string;
    let backupDir: string;
    let restoredDir: string;
    let restoredDatabase: TestDatabase | undefined;
    const acknowledged: Acknowledged[] = [];
    let requiredCount = 0;
    let submittedDuringBackup = 0;

    const restoredEnv = () => ({ SHIELD_DATA_DIR: restoredDir, ...(restoredDatabase ? { DATABASE_URL: restoredDatabase.url } : {}) });

    /** One web report with a file of its own, acknowledged when the form answers 303 (after the commit). */
    const submit = async (n: number): Promise<void> => {
      const session = await openForm(shield, "/security/report");
      const title = `Restored report ${n} ${randomBytes(4).toString("hex")}`;
      const attachment = Buffer.from(`log of report ${n}\n${randomBytes(300).toString("base64")}\n`);
      const response = await postForm(
        shield,
        "/security/report",
        session,
        [...reportFormParts({ title, reporterEmail: `reporter${n}@example.org` }), { name: "attachments", value: attachment, filename: `log-${n}.txt`, contentType: "text/plain" }],
        { remoteAddress: `203.0.113.${(n % 200) + 1}` },
      );
      if (response.statusCode !== 303) throw new Error(`report ${n} answered ${response.statusCode}: ${response.body.slice(0, 300)}`);
      const confirmation = await shield.app.inject({ method: "GET", url: "/security/report/received", headers: { cookie: cookiesFrom(response.headers["set-cookie"]) } });
      const link = /href="([^"]*\/security\/reports\/[A-Za-z0-9_-]{43})"/.exec(confirmation.body)?.[1];
      if (!link) throw new Error(`no tracking link for report ${n}`);
      const token = link.split("/").pop()!;
      const row = await shield.database.db.selectFrom("reports").select("id").where("tracking_hash", "=", hashSecret(token)).executeTakeFirstOrThrow();
      acknowledged.push({ id: row.id, title, token, attachment });
    };

    beforeAll(async () => {
      await ensureBuilt();
      shield = await createTestShield(kind);
      ({ auth } = await shield.addMember("admin"));
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), "shield-restore-"));
      backupDir = path.join(scratch, "backup");
      restoredDir = path.join(scratch, "restored");
      if (kind === "postgres") restoredDatabase = await createTestDatabase("postgres");

      let n = 0;
      for (; n < 5; n++) await submit(n);
      // Reports keep arriving while the backup runs; every one acknowledged before it started must come back.
      let backupRunning = true;
      const arrivals = (async () => {
        while (backupRunning) {
          await submit(n++);
          submittedDuringBackup++;
        }
      })();
      let failed: unknown;
      arrivals.catch((error) => (failed = error));
      while (submittedDuringBackup < 2 && failed === undefined) await new Promise((r) => setTimeout(r, 10));
      if (failed !== undefined) throw failed;
      requiredCount = acknowledged.length;
      const backup = spawnShield(["backup", "--out", backupDir, "--json"], { SHIELD_DATA_DIR: shield.dataDir, DATABASE_URL: shield.testDatabase.url });
      const result = await backup.finally(() => (backupRunning = false));
      await arrivals;
      if (result.code !== 0) throw new Error(`backup failed: ${result.stdout}${result.stderr}`);
    }, BUILD_TIMEOUT_MS);

    afterAll(async () => {
      await shield?.destroy();
      await restoredDatabase?.drop();
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("refuses a backup without the master key it needs, restoring nothing", async () => {
      const result = await runShield(["restore", backupDir, "--json"], restoredEnv());
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout).error).toMatchObject({ code: "no_master_key", message: expect.stringMatching(/--master-key FILE/) });
      expect(fs.existsSync(restoredDir)).toBe(false);
    });

    it("refuses a backup whose file differs from its manifest, restoring nothing", async () => {
      const damaged = path.join(scratch, "damaged");
      fs.cpSync(backupDir, damaged, { recursive: true });
      const manifest = JSON.parse(fs.readFileSync(path.join(damaged, "manifest.json"), "utf8")) as { files: Array<{ path: string }> };
      const blob = manifest.files.find((f) => f.path.startsWith(`data${path.sep}`) && !f.path.endsWith(".json"))!;
      const bytes = fs.readFileSync(path.join(damaged, blob.path));
      bytes[0] = bytes[0]! ^ 1;
      fs.writeFileSync(path.join(damaged, blob.path), bytes);
      const result = await runShield(["restore", damaged, "--master-key", path.join(shield.dataDir, "master.key")], restoredEnv());
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${blob.path} differs from the manifest`);
      expect(fs.existsSync(restoredDir)).toBe(false);
    });

    it.runIf(kind === "sqlite")("refuses to call a restore good when the audit log was rewritten in the backup, or the master key is not the one", async () => {
      // Someone who can write the backups edits an event and fixes up the manifest's checksum: only the chain's MACs give it away.
      const rewritten = path.join(scratch, "rewritten");
      fs.cpSync(backupDir, rewritten, { recursive: true });
      const file = path.join(rewritten, "shield.db");
      const copy = new SqliteDatabase(file);
      copy.prepare("update audit_events set data = ? where seq = 2").run(JSON.stringify({ rewritten: true }));
      copy.close();
      const manifestFile = path.join(rewritten, "manifest.json");
      const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as { files: Array<{ path: string; bytes: number; sha256: string }> };
      const entry = manifest.files.find((f) => f.path === "shield.db")!;
      entry.bytes = fs.statSync(file).size;
      entry.sha256 = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
      fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      const tampered = await runShield(["restore", rewritten, "--master-key", path.join(shield.dataDir, "master.key"), "--json"], { SHIELD_DATA_DIR: path.join(scratch, "tampered") });
      expect(tampered.code).toBe(1);
      const error = JSON.parse(tampered.stdout).error;
      expect(error.code).toBe("audit_failed");
      expect(error.message).toMatch(/event 2/);
      expect(error.message).toMatch(/do not serve from it/);

      const otherKey = path.join(scratch, "other.key");
      fs.writeFileSync(otherKey, randomBytes(32));
      const wrongKey = await runShield(["restore", backupDir, "--master-key", otherKey, "--json"], { SHIELD_DATA_DIR: path.join(scratch, "wrong-key") });
      expect(wrongKey.code).toBe(1);
      expect(JSON.parse(wrongKey.stdout).error.code).toBe("audit_unverifiable");
    });

    it("restores into an empty place, checks every checksum and the audit chain up to the recorded head, and says what it restored", async () => {
      const result = await runShield(["restore", backupDir, "--master-key", path.join(shield.dataDir, "master.key"), "--json"], restoredEnv());
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const summary = JSON.parse(result.stdout);
      const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, "manifest.json"), "utf8"));
      expect(summary).toMatchObject({ database: kind, dataDir: restoredDir, audit: { head: { seq: manifest.auditHead.seq, mac: manifest.auditHead.hash } } });
      expect(summary.files).toBeGreaterThanOrEqual(requiredCount);
      // Reports kept arriving while the backup ran.
      expect(acknowledged.length).toBeGreaterThan(requiredCount);
      expect((fs.statSync(restoredDir).mode & 0o777).toString(8)).toBe("700");
      expect((fs.statSync(path.join(restoredDir, "master.key")).mode & 0o777).toString(8)).toBe("600");
    });

    it("refuses to restore into a data directory that is not empty", async () => {
      const result = await runShield(["restore", backupDir, "--master-key", path.join(shield.dataDir, "master.key")], restoredEnv());
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/is not empty\. A restore goes into an empty one only/);
    });

    it("starts there with every report acknowledged before the backup, its attachment byte for byte and its tracking link working", async () => {
      expect(requiredCount).toBeGreaterThanOrEqual(7);
      const server = await startShieldServer(restoredEnv());
      try {
        for (const report of acknowledged.slice(0, requiredCount)) {
          const page = await fetch(`${server.baseUrl}/security/reports/${report.token}`);
          expect(page.status, report.title).toBe(200);
          expect(await page.text()).toContain(report.title);
          const listed = await fetch(`${server.baseUrl}/api/v1/reports/${report.id}/attachments`, { headers: auth });
          expect(listed.status).toBe(200);
          const { attachments } = (await listed.json()) as { attachments: Array<{ id: number }> };
          expect(attachments).toHaveLength(1);
          const download = await fetch(`${server.baseUrl}/api/v1/reports/${report.id}/attachments/${attachments[0]!.id}`, { headers: auth });
          expect(download.status).toBe(200);
          expect(Buffer.from(await download.arrayBuffer()).equals(report.attachment)).toBe(true);
        }
      } finally {
        await server.stop();
      }
      const verify = await runShield(["audit", "verify", "--anchor", path.join(backupDir, "manifest.json")], restoredEnv());
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/The audit log is intact: .* it still reaches the anchored head/);
    });
  });
});
