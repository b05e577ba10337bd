import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, testDatabaseKinds, type TestDatabase } from "../../../test/databases.js";
import { migrateToLatest, openDatabase, type Database } from "../db/database.js";
import { DatabaseRateCounter } from "./shared-rate-limit.js";

describe.runIf(testDatabaseKinds().includes("postgres"))("the database rate counter on PostgreSQL", () => {
  let testDatabase: TestDatabase;
  const opened: Database[] = [];
  beforeAll(async () => {
    testDatabase = await createTestDatabase("postgres");
    for (let i = 0; i < 2; i++) opened.push(openDatabase(testDatabase.target));
    await migrateToLatest(opened[0]!);
  });
  afterAll(async () => {
    for (const database of opened) await database.close();
    await testDatabase.drop();
  });

  it("gives each of many hits at once, from two processes, its own place in one count", async () => {
    // Two counters on one database stand for two processes; the hits of each go in together.
    const counters = opened.map((database) => new DatabaseRateCounter(database.db));
    const now = Date.now();
    const counts = await Promise.all(Array.from({ length: 60 }, (_, i) => counters[i % 2]!.hit("client:203.0.113.7", 60_000, now)));
    expect(counts.map((c) => c.current).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    // Another client's count is its own.
    const other = await Promise.all([counters[0]!.hit("client:203.0.113.8", 60_000, now), counters[0]!.hit("client:203.0.113.8", 60_000, now)]);
    expect(other.map((c) => c.current)).toEqual([1, 2]);
    expect((await counters[1]!.hit("client:203.0.113.7", 60_000, now)).current).toBe(61);
  });
});
