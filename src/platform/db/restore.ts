import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { z } from "zod";
import type { Config } from "../../config.js";
import { DurableDirectories } from "../blobs/durable-directories.js";
import type { FileSystem } from "../blobs/file-system.js";
import { MANIFEST_FILE, sha256Of, type BackupManifest, type BackupProgress } from "./backup.js";

/**
 * A restore that did not happen, with a stable code for `--json`. Everything refused
 * before the first byte is written (not a backup, a checksum that differs, a target that
 * is not empty) leaves the target as it was.
 */
export class RestoreRefusedError extends Error {
  constructor(
    readonly code: "not_a_backup" | "checksum_mismatch" | "not_empty" | "wrong_database_kind" | "database_restore_failed",
    message: string,
  ) {
    super(message);
    this.name = "RestoreRefusedError";
  }
}

export interface RestoredBackup {
  manifest: BackupManifest;
  /** Files of the data directory that were restored (attachments, keys…), by top-level folder. */
  filesByFolder: Record<string, number>;
  files: number;
  bytes: number;
}

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/);
/** A path inside the backup: relative, without `..`, never reaching outside the backup or the data directory. */
const insidePath = z
  .string()
  .min(1)
  .refine((p) => !path.isAbsolute(p) && path.normalize(p) === p && !p.split(path.sep).includes("..") && !p.includes("\0"), "must be a path inside the backup");
const manifestSchema = z.object({
  createdAt: z.string(),
  database: z.enum(["sqlite", "postgres"]),
  auditHead: z.object({ seq: z.number().int().nonnegative(), hash: SHA256 }).nullable(),
  files: z.array(z.object({ path: insidePath, bytes: z.number().int().nonnegative(), sha256: SHA256 })),
});

const DATABASE_FILE = { sqlite: "shield.db", postgres: "shield.pgdump" } as const;

/**
 * Reads a backup's manifest.
 * @throws RestoreRefusedError `not_a_backup`
 */
export async function readBackupManifest(files: FileSystem, backupDir: string): Promise<BackupManifest> {
  const file = path.join(backupDir, MANIFEST_FILE);
  if (!(await files.stat(file))) {
    throw new RestoreRefusedError("not_a_backup", `${backupDir} is not a Shield backup: it has no ${MANIFEST_FILE} (a backup without one was cut off before it finished).`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse((await files.readFile(file)).toString("utf8"));
  } catch (error) {
    throw new RestoreRefusedError("not_a_backup", `${file} is not valid JSON: ${(error as Error).message}`);
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const why = result.error.issues.map((i) => `${i.path.join(".") || "manifest"}: ${i.message}`).join("; ");
    throw new RestoreRefusedError("not_a_backup", `${file} is not a Shield backup manifest (${why}).`);
  }
  const manifest = result.data;
  if (!manifest.files.some((f) => f.path === DATABASE_FILE[manifest.database])) {
    throw new RestoreRefusedError("not_a_backup", `${file} lists no ${DATABASE_FILE[manifest.database]}: the backup holds no database.`);
  }
  return manifest;
}

/**
 * Brings a backup made by `createBackup` back into the configured place, which must be
 * empty: the data directory (absent or an empty folder), the SQLite file (absent), or the
 * PostgreSQL database named by DATABASE_URL (no tables), restored with `pg_restore`.
 * Every file is checked against the manifest (size and SHA-256) before anything is
 * written, and again as it is copied. Files are written 0600 in 0700 folders, fsynced and
 * made durable in their folders. The audit chain is the caller's to check (it needs the
 * master key and the product's audit rules): the manifest's `auditHead` is where it must end.
 * @throws RestoreRefusedError
 */
export async function restoreBackup(
  config: Config,
  backupDir: string,
  progress: BackupProgress = () => {},
  options: { directories?: DurableDirectories; masterKeyFile?: Buffer } = {},
): Promise<RestoredBackup> {
  const directories = options.directories ?? new DurableDirectories();
  const files = directories.files;
  const manifest = await readBackupManifest(files, backupDir);
  if (manifest.database !== config.database.kind) {
    throw new RestoreRefusedError(
      "wrong_database_kind",
      `The backup holds a ${manifest.database === "sqlite" ? "SQLite" : "PostgreSQL"} database, but DATABASE_URL names ${config.database.kind === "sqlite" ? "a SQLite file" : "a PostgreSQL database"}: restore it to the same kind of database.`,
    );
  }

  await refuseNonEmptyTarget(files, config);

  const total = manifest.files.length;
  let checked = 0;
  for (const entry of manifest.files) {
    await checkFile(files, backupDir, entry);
    progress("checking", ++checked, total);
  }

  await directories.ensure(config.dataDir);
  const dataFiles = manifest.files.filter((f) => f.path.startsWith(`data${path.sep}`));
  const written = new Set<string>([config.dataDir]);
  if (config.database.kind === "sqlite") {
    const target = config.database.file;
    await directories.ensure(path.dirname(target));
    await copyChecked(files, backupDir, manifest.files.find((f) => f.path === DATABASE_FILE.sqlite)!, target);
    written.add(path.dirname(target));
    progress("database", 1, 1);
  } else {
    progress("database", 0, 1);
    await runPgRestore(config.database.url, path.join(backupDir, DATABASE_FILE.postgres));
    progress("database", 1, 1);
  }

  const filesByFolder: Record<string, number> = {};
  let copied = 0;
  let bytes = 0;
  for (const entry of dataFiles) {
    const rel = path.relative("data", entry.path);
    const target = path.join(config.dataDir, rel);
    await directories.ensure(path.dirname(target));
    await copyChecked(files, backupDir, entry, target);
    written.add(path.dirname(target));
    const folder = rel.includes(path.sep) ? rel.split(path.sep)[0]! : ".";
    filesByFolder[folder] = (filesByFolder[folder] ?? 0) + 1;
    bytes += entry.bytes;
    progress("files", ++copied, dataFiles.length);
  }
  if (options.masterKeyFile && !dataFiles.some((f) => f.path === path.join("data", "master.key"))) {
    const target = path.join(config.dataDir, "master.key");
    const handle = await files.createExclusive(target);
    try {
      await handle.write(options.masterKeyFile);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  for (const dir of written) await files.syncDir(dir);
  return { manifest, filesByFolder, files: copied, bytes };
}

/** @throws RestoreRefusedError `not_empty` */
async function refuseNonEmptyTarget(files: FileSystem, config: Config): Promise<void> {
  const dataDir = await files.stat(config.dataDir);
  if (dataDir && !dataDir.isDirectory) throw new RestoreRefusedError("not_empty", `${config.dataDir} is a file, not a data directory.`);
  if (dataDir && (await files.readdir(config.dataDir)).length > 0) {
    throw new RestoreRefusedError(
      "not_empty",
      `The data directory ${config.dataDir} is not empty. A restore goes into an empty one only, so that nothing there is overwritten or mixed with the backup: set SHIELD_DATA_DIR to a new folder.`,
    );
  }
  if (config.database.kind === "sqlite") {
    if (await files.stat(config.database.file)) {
      throw new RestoreRefusedError("not_empty", `There is a database at ${config.database.file} already. A restore creates a new one: set DATABASE_URL to a new file, or leave it unset.`);
    }
    return;
  }
  const client = new pg.Client({ connectionString: config.database.url });
  try {
    await client.connect();
  } catch (error) {
    throw new RestoreRefusedError("database_restore_failed", `Could not connect to the PostgreSQL database named by DATABASE_URL: ${(error as Error).message}. Create it first (createdb).`);
  }
  try {
    const { rows } = await client.query<{ n: string }>(
      `select count(*) as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`,
    );
    if (Number(rows[0]!.n) > 0) {
      throw new RestoreRefusedError(
        "not_empty",
        `The PostgreSQL database named by DATABASE_URL is not empty (it has ${rows[0]!.n} tables, sequences or indexes). A restore goes into an empty database only: create a new one (createdb) and name it in DATABASE_URL.`,
      );
    }
  } finally {
    await client.end();
  }
}

/** @throws RestoreRefusedError `checksum_mismatch` */
async function checkFile(files: FileSystem, backupDir: string, entry: BackupManifest["files"][number]): Promise<void> {
  const full = path.join(backupDir, entry.path);
  const stat = await files.stat(full);
  if (!stat || stat.isDirectory) throw new RestoreRefusedError("checksum_mismatch", `${entry.path} is listed in the manifest but missing from the backup; nothing was restored.`);
  if (stat.size !== entry.bytes || (await sha256Of(files, full)) !== entry.sha256) {
    throw new RestoreRefusedError("checksum_mismatch", `${entry.path} differs from the manifest (size or SHA-256): the backup is damaged or was changed; nothing was restored.`);
  }
}

/** A copy, fsynced, whose bytes are checked against the manifest on the way (the file may change after the first check). */
async function copyChecked(files: FileSystem, backupDir: string, entry: BackupManifest["files"][number], to: string): Promise<void> {
  const hash = createHash("sha256");
  const handle = await files.createExclusive(to);
  try {
    for await (const chunk of files.openRead(path.join(backupDir, entry.path)) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      await handle.write(chunk);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (hash.digest("hex") !== entry.sha256) {
    throw new RestoreRefusedError("checksum_mismatch", `${entry.path} changed while it was being restored: the backup is being written to; restore from a copy nobody changes.`);
  }
}

/** `pg_restore` in one transaction: a failure leaves the database empty. */
function runPgRestore(url: string, dump: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("pg_restore", ["--no-owner", "--exit-on-error", "--single-transaction", `--dbname=${url}`, dump], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.on("error", (error) => reject(new RestoreRefusedError("database_restore_failed", `pg_restore could not be started (${error.message}); install the PostgreSQL client tools`)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new RestoreRefusedError("database_restore_failed", `pg_restore failed, and the database was left empty: ${stderr.trim()}`))));
  });
}
