import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { describe } from "vitest";
import type { Config } from "../src/config.js";
import { keyAuditLog } from "../src/modules/audit/index.js";
import { MasterKey } from "../src/platform/crypto/master-key.js";
import type { Database } from "../src/platform/db/database.js";

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

/** A fresh, empty database of the given kind: a temporary SQLite file or a new PostgreSQL database. */
export async function createTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
  if (kind === "sqlite") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-db-"));
    const file = path.join(dir, "shield.db");
    return { target: { kind: "sqlite", file }, url: file, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `shield_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    target: { kind: "postgres", url: url.toString() },
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
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
