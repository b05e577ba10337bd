import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase, withTestAuditKey, type TestDatabase } from "../../../test/databases.js";
import { openDatabase, type Database } from "../../platform/db/database.js";
import { FakeClock } from "../../../test/clock.js";
import { DEFAULT_SETTINGS } from "./settings.js";
import { loadSettings, updateSetting } from "./settings.service.js";
import { writeSetting } from "./settings.repository.js";

forEachDatabase((kind) => {
  describe("program settings", () => {
    let testDatabase: TestDatabase;
    let database: Database;
    beforeEach(async () => {
      testDatabase = await createTestDatabase(kind, { migrated: true });
      database = openDatabase(testDatabase.target);
      database = await withTestAuditKey(database);
    });
    afterEach(async () => {
      await database.close();
      await testDatabase.drop();
    });

    it("reads each change at once, also one another process wrote, and falls back to the default for a value that no longer fits", async () => {
      expect((await loadSettings(database.db)).programName).toBe(DEFAULT_SETTINGS.programName);
      await updateSetting(database.db, new FakeClock("2026-03-01T09:00:00Z"), { kind: "cli" }, "programName", "Acme Security");
      expect((await loadSettings(database.db)).programName).toBe("Acme Security");
      // Written straight to the table, as another process (or an older version) might have.
      await writeSetting(database.db, "programName", "Acme PSIRT", "2026-03-01T09:01:00.000Z");
      expect((await loadSettings(database.db)).programName).toBe("Acme PSIRT");
      await writeSetting(database.db, "programName", 42, "2026-03-01T09:02:00.000Z");
      expect((await loadSettings(database.db)).programName).toBe(DEFAULT_SETTINGS.programName);
    });

    it("hands out settings nobody can change by accident", async () => {
      const settings = await loadSettings(database.db);
      expect(() => {
        (settings.targets.vulnerability as { firstResponse: number }).firstResponse = 1;
      }).toThrow(TypeError);
      expect((await loadSettings(database.db)).targets.vulnerability.firstResponse).toBe(DEFAULT_SETTINGS.targets.vulnerability.firstResponse);
    });
  });
});
