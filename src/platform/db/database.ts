import fs from "node:fs";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type SqliteDatabase as KyselySqliteDatabase, type Transaction } from "kysely";
import { createRequire } from "node:module";
import type pg from "pg";
import type { Config } from "../../config.js";
import { JobSecretSealing } from "../jobs/job-secrets.js";
import { latestMigration, ShieldMigrationProvider } from "./migrations/index.js";
import type { Tables } from "./schema.js";

export type DatabaseKind = "sqlite" | "postgres";
export type Db = Kysely<Tables>;
export type Tx = Transaction<Tables>;
/** Either the database or an open transaction: repositories accept both. */
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  kind: DatabaseKind;
  close(): Promise<void>;
}

/**
 * The PostgreSQL driver, loaded on first use: a command run against SQLite (most CLI runs)
 * does not pay for loading it.
 */
function loadPg(): typeof pg {
  const driver = createRequire(import.meta.url)("pg") as typeof pg;
  // PostgreSQL returns bigint (count(*), sums) as strings; they fit a JS number here.
  driver.types.setTypeParser(20, (value) => Number.parseInt(value, 10));
  return driver;
}

/**
 * Opens the configured database. SQLite is tuned for durability first: WAL with
 * synchronous=FULL, so a commit is on disk before Shield answers 201.
 * PostgreSQL sessions force synchronous_commit=on for the same promise.
 */
export interface OpenDatabaseOptions {
  onIdleConnectionError?: (error: Error) => void;
  /** The master key: seals and opens the secrets in job payloads (see platform/jobs/job-secrets.ts). */
  masterKey?: Uint8Array;
}

export function openDatabase(target: Config["database"], options: OpenDatabaseOptions = {}): Database {
  const plugins = options.masterKey ? [new JobSecretSealing(options.masterKey)] : [];
  if (target.kind === "postgres") {
    const pool = new (loadPg().Pool)({
      connectionString: target.url,
      max: 10,
      options: "-c synchronous_commit=on -c timezone=UTC",
    });
    // A pooled connection the server drops while idle (a restart, an administrator ending
    // sessions) is reported here, and pg removes it; the next query opens a new one. Without
    // a listener the error would be thrown and stop the process.
    pool.on("error", (error) => options.onIdleConnectionError?.(error));
    const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }), plugins });
    return { db, kind: "postgres", close: () => db.destroy() };
  }
  fs.mkdirSync(path.dirname(target.file), { recursive: true, mode: 0o700 });
  ownerOnly(target.file);
  const sqlite = new SqliteDatabase(target.file);
  // Freed pages are overwritten with zeros: what a finished job or a deleted row held is not
  // left in the file for anyone who copies it.
  sqlite.pragma("secure_delete = ON");
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }), plugins });
  return {
    db,
    kind: "sqlite",
    close: async () => {
      await db.destroy();
      if (sqlite.open) sqlite.close();
    },
  };
}

/**
 * The database file, created 0600 before SQLite opens it (SQLite gives its -wal and -shm
 * files the database file's mode), and an existing one and its companions taken down to 0600.
 */
function ownerOnly(file: string): void {
  fs.closeSync(fs.openSync(file, "a", 0o600));
  for (const name of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((fs.statSync(name).mode & 0o777) !== 0o600) fs.chmodSync(name, 0o600);
    } catch (error) {
      if (!["ENOENT", "EPERM"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
    }
  }
}

/**
 * Kysely's SQLite driver prepares every query anew; preparing took about 7% of the CPU time
 * of a report submission (bench/intake.bench.js). Kysely emits the same SQL text for the
 * same query shape, so statements are kept by text and reused. Kysely runs one query at a
 * time on the connection; should a statement still be busy (an unfinished `iterate`) it is
 * not handed out twice all the same. SQLite re-prepares a cached statement by itself after
 * a schema change.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, limit = 500): KyselySqliteDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    prepare(text: string) {
      const cached = statements.get(text);
      if (cached && !cached.busy) return cached;
      const statement = sqlite.prepare(text);
      if (!cached) {
        // Query text with inlined values (raw SQL) could grow the cache without end: forget the oldest.
        if (statements.size >= limit) statements.delete(statements.keys().next().value!);
        statements.set(text, statement);
      }
      return statement;
    },
    close: () => sqlite.close(),
  };
}

export interface MigrationOutcome {
  applied: string[];
}

/** Brings the schema to the latest version; safe to run from several processes at once on PostgreSQL. */
export async function migrateToLatest(database: Database): Promise<MigrationOutcome> {
  const migrator = new Migrator({ db: database.db, provider: new ShieldMigrationProvider(database.kind) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new Error(`migration ${failed?.migrationName ?? "?"} failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
  return { applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) };
}

/** True when Shield's migrations have run on this database at least once (it is not an empty one). */
export async function hasShieldSchema(database: Database): Promise<boolean> {
  const tables = await database.db.introspection.getTables({ withInternalKyselyTables: true });
  return tables.some((table) => table.name === "kysely_migration");
}

/** True when the database answers and its newest applied migration is the code's newest. */
export async function isSchemaCurrent(database: Database): Promise<boolean> {
  const rows = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(database.db);
  return rows.rows[0]?.name === latestMigration;
}
