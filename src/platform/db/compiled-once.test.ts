import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../../../test/databases.js";
import { openDatabase, type Database } from "./database.js";
import { insertRow, runCompiledOnce } from "./compiled-once.js";

forEachDatabase((kind) => {
  describe("queries compiled once", () => {
    let testDatabase: TestDatabase;
    let database: Database;
    beforeAll(async () => {
      testDatabase = await createTestDatabase(kind, { migrated: true });
      database = openDatabase(testDatabase.target);
    });
    afterAll(async () => {
      await database.close();
      await testDatabase.drop();
    });

    const job = (kind: string, runAt: string, lastError?: string) => ({
      kind,
      payload: JSON.stringify({ kind }),
      state: "pending",
      attempts: 0,
      max_attempts: 8,
      last_error: lastError,
      run_at: runAt,
      fair_at: runAt,
      created_at: runAt,
    });

    it("never run one query's SQL for another that was given the same name", async () => {
      const { db } = database;
      await insertRow(db, "settings", { key: "reused-name", value: '"v"', updated_at: "2026-03-01T09:00:00.000Z" });
      const byKey = await runCompiledOnce(db, "one name", ["reused-name"], () => db.selectFrom("settings").select("key").where("key", "=", "reused-name"));
      const byValue = await runCompiledOnce(db, "one name", ['"v"'], () => db.selectFrom("settings").select("value").where("value", "=", '"v"'));
      expect(byKey.rows).toEqual([{ key: "reused-name" }]);
      expect(byValue.rows).toEqual([{ value: '"v"' }]);
    });

    it("run with each call's own values, also when a row leaves a column out", async () => {
      const { db } = database;
      await insertRow(db, "jobs", job("first", "2026-03-01T09:00:00.000Z", "timeout"));
      await insertRow(db, "jobs", job("second", "2026-03-02T09:00:00.000Z", "refused"));
      // Without last_error the SQL must differ (or the second row's value would be reused, or the values misplaced).
      await insertRow(db, "jobs", job("third", "2026-03-03T09:00:00.000Z"));
      const rows = await db.selectFrom("jobs").select(["kind", "payload", "last_error", "run_at"]).orderBy("id").execute();
      expect(rows).toEqual([
        { kind: "first", payload: '{"kind":"first"}', last_error: "timeout", run_at: "2026-03-01T09:00:00.000Z" },
        { kind: "second", payload: '{"kind":"second"}', last_error: "refused", run_at: "2026-03-02T09:00:00.000Z" },
        { kind: "third", payload: '{"kind":"third"}', last_error: null, run_at: "2026-03-03T09:00:00.000Z" },
      ]);
      const byKind = async (wanted: string) =>
        (await runCompiledOnce(db, "test: job by kind", [wanted], () => db.selectFrom("jobs").select("run_at").where("kind", "=", wanted))).rows;
      expect(await byKind("second")).toEqual([{ run_at: "2026-03-02T09:00:00.000Z" }]);
      expect(await byKind("third")).toEqual([{ run_at: "2026-03-03T09:00:00.000Z" }]);
    });

    it("refuse, on first use, values that are not Kysely's parameters in order", async () => {
      const { db } = database;
      await expect(
        runCompiledOnce(db, "test: wrong order", ["first", 3], () => db.selectFrom("jobs").select("id").where("max_attempts", "=", 3).where("kind", "=", "first")),
      ).rejects.toThrow(/query test: wrong order: Kysely's parameters \[3,"first"\] are not the values given, \["first",3\]/);
    });
  });
});
