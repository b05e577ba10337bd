import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestDatabase, TEST_POSTGRES_URL, type TestDatabase } from "../../../test/databases.js";
import { openDatabase, type Database } from "./database.js";

// SQLite statements are prepared once and reused (see withStatementCache).
describe("SQLite statement reuse", () => {
  let dir: string;
  let database: Database;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-db-"));
    database = openDatabase({ kind: "sqlite", file: path.join(dir, "shield.db") });
    await sql`create table notes (id integer primary key, body text not null)`.execute(database.db);
    await sql`insert into notes (body) values ('one'), ('two')`.execute(database.db);
  });
  afterEach(async () => {
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const notes = () => sql<Record<string, unknown>>`select * from notes order by id`;

  it("answers the same query with the columns a later schema change added", async () => {
    expect((await notes().execute(database.db)).rows).toEqual([{ id: 1, body: "one" }, { id: 2, body: "two" }]);
    await sql`alter table notes add column pinned integer not null default 0`.execute(database.db);
    expect((await notes().execute(database.db)).rows).toEqual([
      { id: 1, body: "one", pinned: 0 },
      { id: 2, body: "two", pinned: 0 },
    ]);
  });
});

describe.skipIf(process.env.SHIELD_TEST_POSTGRES === "0")("PostgreSQL connections the server drops", () => {
  let testDatabase: TestDatabase;
  let database: Database;
  const dropped: Error[] = [];
  beforeEach(async () => {
    testDatabase = await createTestDatabase("postgres");
    database = openDatabase(testDatabase.target, { onIdleConnectionError: (error) => dropped.push(error) });
  });
  afterEach(async () => {
    await database.close();
    await testDatabase.drop();
  });

  it("are reported, not thrown, and the next query opens a new one", async () => {
    const backend = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(database.db)).rows[0]!.pid;
    const before = await backend();
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    try {
      await admin.query("select pg_terminate_backend($1)", [before]);
    } finally {
      await admin.end();
    }
    await vi.waitFor(() => expect(dropped.map((e) => (e as Error & { code?: string }).code)).toEqual(["57P01"]));
    const after = await backend();
    expect(after).not.toBe(before);
  });
});
