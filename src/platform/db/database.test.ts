import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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
