import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import type { Config } from "../../config.js";
import { DurableDirectories } from "../blobs/durable-directories.js";
import { TEMPORARY_FILE, writeFileDurably } from "../blobs/durable-file.js";
import type { FileSystem } from "../blobs/file-system.js";

const MASTER_KEY_FILE = "master.key";
export const MANIFEST_FILE = "manifest.json";

export interface BackupProgress {
  (step: string, done: number, total: number): void;
}

export interface BackupManifest {
  createdAt: string;
  database: "sqlite" | "postgres";
  /**
   * The audit log's head in the copied database, as its row reads (sequence number and
   * hash): a restore checks that the restored chain ends exactly there.
   */
  auditHead: { seq: number; hash: string } | null;
  files: Array<{ path: string; bytes: number; sha256: string }>;
}

/** The most pages better-sqlite3 lets one backup step copy. */
const ALL_PAGES = 0x7fffffff;

/**
 * A consistent copy of everything Shield needs to come back: the database (SQLite's
 * online backup API, or `pg_dump --format=custom` for PostgreSQL) and the data
 * directory's files (attachments, keys), with a manifest of checksums and the audit
 * head. The master key is left out unless asked for: keep it apart from the backups.
 * Safe while Shield runs. Outgoing `.eml` files, files being uploaded and earlier backups
 * are left out. Durable and private: the folder (0700) and each level made for it are
 * fsynced into their parents, every file (0600) is fsynced, and the manifest is written
 * last, so a backup with a manifest is whole after a power cut.
 */
export async function createBackup(
  config: Config,
  outDir: string,
  progress: BackupProgress = () => {},
  options: { includeMasterKey?: boolean; directories?: DurableDirectories } = {},
): Promise<BackupManifest> {
  const directories = options.directories ?? new DurableDirectories();
  const files = directories.files;
  await directories.ensure(outDir);
  if ((await files.readdir(outDir)).length > 0) throw new Error(`${outDir} is not empty; choose a new folder for the backup`);

  let auditHead: BackupManifest["auditHead"] = null;
  if (config.database.kind === "sqlite") {
    const copy = path.join(outDir, "shield.db");
    const source = new SqliteDatabase(config.database.file, { readonly: true, fileMustExist: true });
    try {
      // All pages in one step, after a first step that only counts them. SQLite starts a
      // backup over whenever another connection writes between two of its steps, so a copy in
      // small steps never finished beside a server that keeps writing. One step is one
      // consistent read, which in WAL mode holds up no writer.
      await files.produce(copy, async (target) => {
        const copied = await source.backup(target, {
          progress: ({ totalPages, remainingPages }) => {
            progress("database", totalPages - remainingPages, totalPages);
            return ALL_PAGES;
          },
        });
        progress("database", copied.totalPages, copied.totalPages);
        auditHead = settleSqliteCopy(target);
      });
    } finally {
      source.close();
    }
    await files.syncFile(copy);
  } else {
    const dump = path.join(outDir, "shield.pgdump");
    const url = config.database.url;
    auditHead = await dumpPostgres(url, (snapshot) => files.produce(dump, (target) => runPgDump(url, target, snapshot)));
    await files.syncFile(dump);
    progress("database", 1, 1);
  }

  const skip = new Set(["outbox", "backups", path.basename(outDir)]);
  const dataFiles = (await listFiles(files, config.dataDir)).filter((rel) => {
    const parts = rel.split(path.sep);
    if (skip.has(parts[0]!) || parts.includes(".staging") || TEMPORARY_FILE.test(parts.at(-1)!)) return false;
    // The master key decrypts the team's private key: a backup that holds both protects neither.
    if (rel === MASTER_KEY_FILE && !options.includeMasterKey) return false;
    // The live SQLite files are covered by the online backup above.
    return !(config.database.kind === "sqlite" && path.join(config.dataDir, rel).startsWith(config.database.file));
  });
  let copied = 0;
  const written = new Set<string>();
  for (const rel of dataFiles) {
    const target = path.join(outDir, "data", rel);
    await directories.ensure(path.dirname(target));
    await copyFile(files, path.join(config.dataDir, rel), target);
    written.add(path.dirname(target));
    progress("files", ++copied, dataFiles.length);
  }
  for (const dir of written) await files.syncDir(dir);
  await files.syncDir(outDir);

  const manifestFiles: BackupManifest["files"] = [];
  for (const rel of await listFiles(files, outDir)) {
    const full = path.join(outDir, rel);
    manifestFiles.push({ path: rel, bytes: (await files.stat(full))!.size, sha256: await sha256Of(files, full) });
  }
  const manifest: BackupManifest = { createdAt: new Date().toISOString(), database: config.database.kind, auditHead, files: manifestFiles };
  await writeFileDurably(path.join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { directories, exclusive: true });
  return manifest;
}

/** Every file under `root`, relative to it, sorted; nothing when `root` does not exist. */
export async function listFiles(files: FileSystem, root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    if (!(await files.stat(dir))?.isDirectory) return;
    for (const entry of await files.readdir(dir)) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory) await walk(full);
      else out.push(path.relative(root, full));
    }
  };
  await walk(root);
  return out.sort();
}

/** A copy, fsynced (its name is made durable by the caller's fsync of the directory). */
export async function copyFile(files: FileSystem, from: string, to: string): Promise<void> {
  const handle = await files.createExclusive(to);
  try {
    for await (const chunk of files.openRead(from) as AsyncIterable<Buffer>) await handle.write(chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function sha256Of(files: FileSystem, file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of files.openRead(file) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Makes the copy one self-contained file (rollback journal mode, so that opening it leaves
 * no -wal or -shm beside it; Shield turns WAL on again when it opens a restored copy) and
 * reads its audit head.
 */
function settleSqliteCopy(copy: string): BackupManifest["auditHead"] {
  const database = new SqliteDatabase(copy, { fileMustExist: true });
  try {
    database.pragma("journal_mode = DELETE");
    if (!database.prepare("select 1 from sqlite_master where type = 'table' and name = 'audit_head'").get()) return null;
    return (database.prepare("select seq, hash from audit_head where id = 1").get() as { seq: number; hash: string } | undefined) ?? null;
  } finally {
    database.close();
  }
}

/**
 * Runs `dump` with the id of a snapshot in which the audit head was read, so that the head
 * recorded is the one in the dump (pg_dump --snapshot reads the same snapshot).
 */
async function dumpPostgres(url: string, dump: (snapshot: string) => Promise<void>): Promise<BackupManifest["auditHead"]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("begin isolation level repeatable read read only");
    const snapshot = (await client.query<{ id: string }>("select pg_export_snapshot() as id")).rows[0]!.id;
    const hasHead = (await client.query<{ found: boolean }>("select to_regclass('audit_head') is not null as found")).rows[0]!.found;
    const head = hasHead ? (await client.query<{ seq: number; hash: string }>("select seq, hash from audit_head where id = 1")).rows[0] : undefined;
    await dump(snapshot);
    await client.query("commit");
    return head ? { seq: Number(head.seq), hash: head.hash } : null;
  } finally {
    await client.end();
  }
}

function runPgDump(url: string, file: string, snapshot: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("pg_dump", ["--format=custom", "--no-owner", `--snapshot=${snapshot}`, `--file=${file}`, url], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.on("error", (error) => reject(new Error(`pg_dump could not be started (${error.message}); install the PostgreSQL client tools`)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`pg_dump failed: ${stderr.trim()}`))));
  });
}
