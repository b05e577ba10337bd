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
}

/** Where the run's migrated databases are (set by the global setup): the SQLite file and the PostgreSQL template. */
const SQLITE_TEMPLATE_ENV = "SHIELD_TEST_SQLITE_TEMPLATE";
const POSTGRES_TEMPLATE_ENV = "SHIELD_TEST_POSTGRES_TEMPLATE";

/**
 * Makes one database of each kind with every migration applied, for `createTestDatabase(kind,
 * { migrated: true })` to copy: a copy takes a few milliseconds on SQLite and a fraction of
 * a second on PostgreSQL where migrating took about 0.3 and 1 s. Made anew for each run, so
 * a changed migration is always in it. Returns what removes them.
 */
export async function prepareMigratedTemplates(withPostgres: boolean): Promise<() => Promise<void>> {
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
    name = `shield_template_${randomBytes(6).toString("hex")}`;
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
    if (name) await adminQuery(`drop database if exists ${name} with (force)`);
  };
}

async function adminQuery(text: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(text);
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
    return { target: { kind: "sqlite", file }, url: file, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `shield_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(template ? `create database ${name} template ${template}` : `create database ${name}`);
  const url = databaseUrl(name);
  return { target: { kind: "postgres", url }, url, drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
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
