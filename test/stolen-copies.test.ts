import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobStore } from "../src/platform/blobs/blob-store.js";
import { createBackup } from "../src/platform/db/backup.js";
import { forEachDatabase } from "./databases.js";
import { buildReportInput } from "./factories.js";
import { createTestShield, type TestShield } from "./shield.js";

/** Every file under `root` with its mode, and every directory (marked with a trailing /). */
function modesUnder(root: string): Record<string, string> {
  const out: Record<string, string> = { "./": (fs.statSync(root).mode & 0o777).toString(8) };
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(root, full) + (entry.isDirectory() ? "/" : "")] = (fs.statSync(full).mode & 0o777).toString(8);
  }
  return out;
}

forEachDatabase((kind) => {
  describe("a stolen database or backup", () => {
    let shield: TestShield;
    const tokens: string[] = [];
    let out: string;
    beforeAll(async () => {
      shield = await createTestShield(kind);
      for (let i = 0; i < 12; i++) {
        const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput() });
        expect(response.statusCode).toBe(201);
        tokens.push(new URL(response.json().trackingUrl).pathname.split("/").at(-1)!);
      }
      out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "shield-carve-")), "backup");
    });
    afterAll(async () => {
      await shield.destroy();
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    });

    /** The raw bytes a thief would carve: the database files (SQLite: file and WAL) and every file of the backup. */
    async function carve(backup: string): Promise<string[]> {
      await createBackup(shield.config, backup);
      const files = kind === "sqlite" ? [shield.testDatabase.url, `${shield.testDatabase.url}-wal`].filter((file) => fs.existsSync(file)) : [];
      for (const rel of fs.readdirSync(backup, { recursive: true }) as string[]) if (fs.statSync(path.join(backup, rel)).isFile()) files.push(path.join(backup, rel));
      expect(files.map((file) => path.basename(file))).toContain(kind === "sqlite" ? "shield.db" : "shield.pgdump");
      return files.flatMap((file) => {
        const bytes = fs.readFileSync(file);
        return tokens.filter((token) => bytes.includes(token)).map((token) => `${path.basename(file)}: ${token}`);
      });
    }

    it("holds no tracking token in clear while the receipts wait to be sent", async () => {
      expect(await carve(path.join(out, "waiting"))).toEqual([]);
    });

    it("holds none after every receipt has gone out, in the database, its WAL or a backup, and the links still work", async () => {
      expect(await shield.worker.drain()).toBeGreaterThanOrEqual(tokens.length);
      expect(await carve(path.join(out, "sent"))).toEqual([]);
      // The tokens are real: each opens its tracking page.
      for (const token of tokens.slice(0, 2)) expect((await shield.app.inject({ method: "GET", url: `/security/reports/${token}` })).statusCode).toBe(200);
    });
  });

  describe("files only their owner can read", () => {
    let shield: TestShield;
    let scratch: string;
    let umask: number;
    beforeAll(async () => {
      umask = process.umask(0o000);
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), "shield-modes-"));
      shield = await createTestShield(kind, { env: { SHIELD_DATA_DIR: path.join(scratch, "new", "data") } });
    });
    afterAll(async () => {
      process.umask(umask);
      await shield.destroy();
      fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("makes the data directory and backups 0700 and every file 0600 under a permissive umask", async () => {
      expect((await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput() })).statusCode).toBe(201);
      await shield.worker.drain();
      const blobs = new BlobStore(path.join(shield.config.dataDir, "blobs"));
      await blobs.commit(await blobs.stage(Readable.from([Buffer.from("evidence")])));
      const backup = path.join(shield.config.dataDir, "backups", "one");
      await createBackup(shield.config, backup);

      const modes = modesUnder(shield.config.dataDir);
      expect(Object.keys(modes)).toEqual(expect.arrayContaining(["master.key", "outbox/", "blobs/", "backups/one/manifest.json"]));
      if (kind === "sqlite") {
        expect(Object.keys(modes)).toContain("backups/one/shield.db");
        for (const file of [shield.testDatabase.url, `${shield.testDatabase.url}-wal`]) expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("600");
      }
      const wrong = Object.entries(modes).filter(([name, mode]) => mode !== (name.endsWith("/") ? "700" : "600"));
      expect(wrong).toEqual([]);
    });
  });
});
