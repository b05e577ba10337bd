import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { loadConfig } from "../../config.js";
import { createBackup } from "./backup.js";

const cli = path.resolve(import.meta.dirname, "../../../dist/cli/shield.js");

forEachDatabase((kind) => {
  describe("shield backup", () => {
    let shield: TestShield;
    let out: string;
    beforeAll(async () => {
      shield = await createTestShield(kind);
      for (let i = 0; i < 3; i++) await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ title: `Backed up ${i}` }) });
      fs.mkdirSync(path.join(shield.dataDir, "keys"), { recursive: true });
      fs.writeFileSync(path.join(shield.dataDir, "keys", "note.txt"), "kept");
      out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "shield-backup-")), "b");
    });
    afterAll(async () => {
      await shield.destroy();
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    });

    it("writes the database and the data files with a manifest of checksums, while Shield runs", async () => {
      const stdout = execFileSync("node", [cli, "backup", "--out", out, "--json"], {
        env: { ...process.env, SHIELD_DATA_DIR: shield.dataDir, DATABASE_URL: shield.testDatabase.url },
        encoding: "utf8",
      });
      const manifest = JSON.parse(stdout);
      expect(manifest.database).toBe(kind);
      const paths = manifest.files.map((f: { path: string }) => f.path);
      expect(paths).not.toContain(path.join("data", "master.key"));
      expect(paths).toContain(path.join("data", "keys", "note.txt"));
      expect(paths.some((p: string) => p.startsWith("outbox"))).toBe(false);
      const onDisk = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
      expect(onDisk.files).toEqual(manifest.files);

      let titles: string[];
      if (kind === "sqlite") {
        const copy = new SqliteDatabase(path.join(out, "shield.db"), { readonly: true });
        titles = (copy.prepare("select title from reports order by id").all() as Array<{ title: string }>).map((r) => r.title);
        copy.close();
      } else {
        const restored = await createTestDatabase("postgres");
        try {
          execFileSync("pg_restore", ["--no-owner", `--dbname=${restored.url}`, path.join(out, "shield.pgdump")]);
          const client = new pg.Client({ connectionString: restored.url });
          await client.connect();
          titles = (await client.query("select title from reports order by id")).rows.map((r) => r.title);
          await client.end();
        } finally {
          await restored.drop();
        }
      }
      expect(titles).toEqual(["Backed up 0", "Backed up 1", "Backed up 2"]);
    });

    it("refuses to write into a folder that is not empty", () => {
      expect(() =>
        execFileSync("node", [cli, "backup", "--out", out], { env: { ...process.env, SHIELD_DATA_DIR: shield.dataDir, DATABASE_URL: shield.testDatabase.url }, stdio: "pipe" }),
      ).toThrow(/not empty/);
    });
  });
});

describe("a backup of a SQLite database that is being written to", () => {
  it("finishes, and holds a consistent copy, while another connection keeps committing", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-busy-"));
    const out = path.join(dataDir, "backup");
    const file = path.join(dataDir, "shield.db");
    const setup = new SqliteDatabase(file);
    setup.pragma("journal_mode = WAL");
    setup.exec("create table filler (id integer primary key, body blob not null)");
    const fill = setup.prepare("insert into filler (body) values (?)");
    setup.transaction(() => {
      for (let i = 0; i < 6000; i++) fill.run(Buffer.alloc(4000, i % 251)); // about 25 MB: many steps of the old 1000-page copy
    })();
    setup.close();
    // A server's worth of writes: a commit every millisecond from another connection.
    const writer = new SqliteDatabase(file);
    const write = writer.prepare("insert into filler (body) values (?)");
    const timer = setInterval(() => write.run(Buffer.alloc(100)), 1);
    try {
      const config = loadConfig({ SHIELD_DATA_DIR: dataDir });
      await createBackup(config, out);
    } finally {
      clearInterval(timer);
      writer.close();
    }
    const copy = new SqliteDatabase(path.join(out, "shield.db"), { readonly: true });
    try {
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
      expect((copy.prepare("select count(*) as n from filler where length(body) = 4000").get() as { n: number }).n).toBe(6000);
    } finally {
      copy.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});
