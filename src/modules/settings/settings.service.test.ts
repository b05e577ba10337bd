import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase, withTestAuditKey, type TestDatabase } from "../../../test/databases.js";
import { openDatabase, type Database } from "../../platform/db/database.js";
import { FakeClock } from "../../../test/clock.js";
import { DEFAULT_SETTINGS } from "./settings.js";
import { SettingsReader, updateSetting } from "./settings.service.js";
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

    it("shows its own change at once, another process's after its time to live, and the default for a value that no longer fits", async () => {
      const reader = new SettingsReader(database.db, 60_000);
      const otherProcess = new SettingsReader(database.db, 0);
      expect((await reader.get()).programName).toBe(DEFAULT_SETTINGS.programName);
      await updateSetting(reader, new FakeClock("2026-03-01T09:00:00Z"), { kind: "cli" }, "programName", "Acme Security");
      expect((await reader.get()).programName).toBe("Acme Security");
      expect((await otherProcess.get()).programName).toBe("Acme Security");
      // Written straight to the table, as another process (or an older version) might have:
      // a reader within its time to live still shows what it read.
      await writeSetting(database.db, "programName", "Acme PSIRT", "2026-03-01T09:01:00.000Z");
      expect((await reader.get()).programName).toBe("Acme Security");
      expect((await otherProcess.get()).programName).toBe("Acme PSIRT");
      await writeSetting(database.db, "programName", 42, "2026-03-01T09:02:00.000Z");
      expect((await otherProcess.get()).programName).toBe(DEFAULT_SETTINGS.programName);
      reader.invalidate();
      expect((await reader.get()).programName).toBe(DEFAULT_SETTINGS.programName);
    });

    it("hands out settings nobody can change by accident", async () => {
      const reader = new SettingsReader(database.db, 0);
      const settings = await reader.get();
      expect(() => {
        (settings.targets.vulnerability as { firstResponse: number }).firstResponse = 1;
      }).toThrow(TypeError);
      expect((await reader.get()).targets.vulnerability.firstResponse).toBe(DEFAULT_SETTINGS.targets.vulnerability.firstResponse);
    });
  });
});
