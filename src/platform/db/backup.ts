import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";
import type { Config } from "../../config.js";

const MASTER_KEY_FILE = "master.key";

export interface BackupProgress {
  (step: string, done: number, total: number): void;
}

export interface BackupManifest {
  createdAt: string;
  database: "sqlite" | "postgres";
  files: Array<{ path: string; bytes: number; sha256: string }>;
}

/**
 * A consistent copy of everything Shield needs to come back: the database (SQLite's
 * online backup API, or `pg_dump --format=custom` for PostgreSQL) and the data
 * directory's files (attachments, keys), with a manifest of checksums. The master key
 * is left out unless asked for: keep it apart from the backups.
 * Safe while Shield runs. Outgoing `.eml` files and earlier backups are left out.
 */
/** The most pages better-sqlite3 lets one backup step copy. */
const ALL_PAGES = 0x7fffffff;

export async function createBackup(
  config: Config,
  outDir: string,
  progress: BackupProgress = () => {},
  options: { includeMasterKey?: boolean } = {},
): Promise<BackupManifest> {
  await fs.mkdir(outDir, { recursive: true });
  if ((await fs.readdir(outDir)).length > 0) throw new Error(`${outDir} is not empty; choose a new folder for the backup`);

  if (config.database.kind === "sqlite") {
    const source = new SqliteDatabase(config.database.file, { readonly: true, fileMustExist: true });
    try {
      // All pages in one step, after a first step that only counts them. SQLite starts a
      // backup over whenever another connection writes between two of its steps, so a copy in
      // small steps never finished beside a server that keeps writing. One step is one
      // consistent read, which in WAL mode holds up no writer.
      const copied = await source.backup(path.join(outDir, "shield.db"), {
        progress: ({ totalPages, remainingPages }) => {
          progress("database", totalPages - remainingPages, totalPages);
          return ALL_PAGES;
        },
      });
      progress("database", copied.totalPages, copied.totalPages);
    } finally {
      source.close();
    }
  } else {
    await runPgDump(config.database.url, path.join(outDir, "shield.pgdump"));
    progress("database", 1, 1);
  }

  const skip = new Set(["outbox", "backups", path.basename(outDir)]);
  const dataFiles = (await listFiles(config.dataDir)).filter((rel) => {
    const top = rel.split(path.sep)[0]!;
    if (skip.has(top)) return false;
    // The master key decrypts the team's private key: a backup that holds both protects neither.
    if (rel === MASTER_KEY_FILE && !options.includeMasterKey) return false;
    // The live SQLite files are covered by the online backup above.
    return !(config.database.kind === "sqlite" && path.join(config.dataDir, rel).startsWith(config.database.file));
  });
  let copied = 0;
  for (const rel of dataFiles) {
    const target = path.join(outDir, "data", rel);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(path.join(config.dataDir, rel), target);
    progress("files", ++copied, dataFiles.length);
  }

  const files: BackupManifest["files"] = [];
  for (const rel of await listFiles(outDir)) {
    const full = path.join(outDir, rel);
    files.push({ path: rel, bytes: (await fs.stat(full)).size, sha256: await sha256File(full) });
  }
  const manifest: BackupManifest = { createdAt: new Date().toISOString(), database: config.database.kind, files };
  await fs.writeFile(path.join(outDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out.push(path.relative(root, full));
    }
  };
  await walk(root);
  return out.sort();
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}

function runPgDump(url: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("pg_dump", ["--format=custom", "--no-owner", `--file=${file}`, url], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.on("error", (error) => reject(new Error(`pg_dump could not be started (${error.message}); install the PostgreSQL client tools`)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`pg_dump failed: ${stderr.trim()}`))));
  });
}
