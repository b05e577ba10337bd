import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { describe } from "vitest";
import type { Config } from "../src/config.js";
import { keyAuditLog } from "../src/modules/audit/index.js";
import { MasterKey } from "../src/platform/crypto/master-key.js";
import { migrateToLatest, openDatabase, type Database } from "../src/platform/db/database.js";

/** The maintenance database tests create their own databases from. */
export const TEST_POSTGRES_URL = process.env.SHIELD_TEST_POSTGRES_URL ?? "postgres://root@127.0.0.1:5432/test";

export type TestDatabaseKind = "sqlite" | "postgres";

export function testDatabaseKinds(): TestDatabaseKind[] {
  return process.env.SHIELD_TEST_POSTGRES === "0" ? ["sqlite"] : ["sqlite", "postgres"];
}

/** Runs a suite once per database: `forEachDatabase((kind) => { it(...) })`. */
export function forEachDatabase(suite: (kind: TestDatabaseKind) => void): void {
  for (const kind of testDatabaseKinds()) describe(`on ${kind}`, () => suite(kind));
}

export interface TestDatabase {
  target: Config["database"];
  /** For SQLite the file path; for PostgreSQL the URL. Suitable for DATABASE_URL. */
  url: string;
  drop(): Promise<void>;
  /**
   * Drops it without waiting, when nothing of the test waits on it being gone (a PostgreSQL
   * drop takes 0.2 to 1.5 s here); the global teardown drops what is left at the end of the run.
   */
  discard(): void;
}

/** Where the run's migrated databases are (set by the global setup): the SQLite file and the PostgreSQL template. */
const SQLITE_TEMPLATE_ENV = "SHIELD_TEST_SQLITE_TEMPLATE";
const POSTGRES_TEMPLATE_ENV = "SHIELD_TEST_POSTGRES_TEMPLATE";
/** What names this run's PostgreSQL databases (other runs may share the server at the same time). */
const RUN_ENV = "SHIELD_TEST_RUN";

/**
 * Makes one database of each kind with every migration applied, for `createTestDatabase(kind,
 * { migrated: true })` to copy: a copy takes a few milliseconds on SQLite and a fraction of
 * a second on PostgreSQL where migrating took about 0.3 and 1 s. Made anew for each run, so
 * a changed migration is always in it. Returns what removes them.
 */
export async function prepareMigratedTemplates(withPostgres: boolean): Promise<() => Promise<void>> {
  const run = randomBytes(4).toString("hex");
  process.env[RUN_ENV] = run;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-template-"));
  const file = path.join(dir, "shield.db");
  const sqlite = openDatabase({ kind: "sqlite", file });
  try {
    await migrateToLatest(sqlite);
  } finally {
    await sqlite.close();
  }
  process.env[SQLITE_TEMPLATE_ENV] = file;
  let name: string | undefined;
  if (withPostgres) {
    name = `shield_template_${run}`;
    await adminQuery(`create database ${name}`);
    const postgres = openDatabase({ kind: "postgres", url: databaseUrl(name) });
    try {
      await migrateToLatest(postgres);
    } finally {
      await postgres.close();
    }
    process.env[POSTGRES_TEMPLATE_ENV] = name;
  }
  return async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (!withPostgres) return;
    const left = await adminQuery<{ datname: string }>(`select datname from pg_database where datname like 'shield\\_test\\_${run}\\_%'`);
    for (const database of [...left.map((row) => row.datname), name]) {
      // One its test discarded may still be being dropped.
      await adminQuery(`drop database if exists ${database} with (force)`).catch(() => {});
    }
  };
}

async function adminQuery<Row extends object = object>(text: string): Promise<Row[]> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    return (await admin.query<Row>(text)).rows;
  } finally {
    await admin.end();
  }
}

function databaseUrl(name: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A fresh database of the given kind, a temporary SQLite file or a new PostgreSQL database:
 * empty, or with `migrated` a copy of the run's migrated one (as Shield would leave an empty
 * database on its first start, and faster than migrating it again).
 */
export async function createTestDatabase(kind: TestDatabaseKind, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const template = options.migrated ? migratedTemplate(kind) : undefined;
  if (kind === "sqlite") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-db-"));
    const file = path.join(dir, "shield.db");
    if (template) fs.copyFileSync(template, file);
    const remove = () => fs.rmSync(dir, { recursive: true, force: true });
    return { target: { kind: "sqlite", file }, url: file, drop: async () => remove(), discard: remove };
  }
  const name = `shield_test_${process.env[RUN_ENV] ?? "norun"}_${randomBytes(6).toString("hex")}`;
  await adminQuery(template ? `create database ${name} template ${template}` : `create database ${name}`);
  const url = databaseUrl(name);
  const drop = async () => void (await adminQuery(`drop database if exists ${name} with (force)`));
  return { target: { kind: "postgres", url }, url, drop, discard: () => void drop().catch(() => {}) };
}

/** The run's migrated database of this kind; a missing one (vitest run without the global setup) is an error, not a slow fallback. */
function migratedTemplate(kind: TestDatabaseKind): string {
  const value = process.env[kind === "sqlite" ? SQLITE_TEMPLATE_ENV : POSTGRES_TEMPLATE_ENV];
  if (!value) throw new Error(`no migrated ${kind} database to copy: test/global-setup.ts makes it before the tests`);
  return value;
}

/** A master key for tests that open a database without a Shield around it. */
export const TEST_MASTER_KEY = new MasterKey(Buffer.alloc(32, 0x5a), "environment");

/**
 * The same database with its handle carrying the audit key, as Shield opens it (services
 * append audit events; an unkeyed handle refuses to). Call after `migrateToLatest`.
 */
export async function withTestAuditKey(database: Database, masterKey: MasterKey = TEST_MASTER_KEY): Promise<Database> {
  return { ...database, db: await keyAuditLog(database.db, masterKey, () => new Date().toISOString()) };
}
