import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../../test/clock.js";
import { createTestDatabase, forEachDatabase, withTestAuditKey, type TestDatabase } from "../../../test/databases.js";
import { buildNewReport } from "../../../test/factories.js";
import { openDatabase, type Database } from "../../platform/db/database.js";
import { DEFAULT_SETTINGS, SettingsReader, updateSetting } from "../settings/index.js";
import { computeDeadlines } from "../sla/index.js";
import { findReport, fixTermsOfEarlierReports, insertReport } from "./report.repository.js";

describe("the terms a report is promised", () => {
  forEachDatabase((kind) => {
    let testDatabase: TestDatabase;
    let database: Database;
    let settings: SettingsReader;
    const clock = new FakeClock("2026-03-02T12:00:00.000Z");
    const cli = { kind: "cli" } as const;

    beforeAll(async () => {
      testDatabase = await createTestDatabase(kind, { migrated: true });
      database = openDatabase(testDatabase.target);
      database = await withTestAuditKey(database);
      settings = new SettingsReader(database.db);
    });
    afterAll(async () => {
      await database.close();
      await testDatabase.drop();
    });

    it("are those of the moment it arrived, whatever the settings say later", async () => {
      const db = database.db;
      const report = await insertReport(db, settings, buildNewReport({ channel: "account_attack" }), `hash-${kind}-1`);
      const before = computeDeadlines(report, await settings.get(), clock.now());
      expect(Date.parse(before.firstResponse!) - Date.parse(report.receivedAt)).toBe(2 * 3_600_000);

      await updateSetting(settings, clock, cli, "targets", { ...DEFAULT_SETTINGS.targets, account_attack: { firstResponse: 1, triage: 1 } });
      await updateSetting(settings, clock, cli, "calendars", { ...DEFAULT_SETTINGS.calendars, account_attack: { timeZone: "UTC", workingDays: ["sun"], opensAt: "09:00", closesAt: "10:00", holidays: [] } });
      const stored = (await findReport(db, report.id))!;
      expect(stored.serviceTerms).toEqual({ firstResponse: 120, triage: 240, resolution: DEFAULT_SETTINGS.resolutionTargets, calendar: null, disclosureDays: 90 });
      expect(computeDeadlines(stored, await settings.get(), clock.now())).toEqual(before);

      const later = await insertReport(db, settings, buildNewReport({ channel: "account_attack" }), `hash-${kind}-2`);
      expect((await findReport(db, later.id))!.serviceTerms).toMatchObject({ firstResponse: 1, triage: 1, calendar: { workingDays: ["sun"] } });
      const support = await insertReport(db, settings, buildNewReport({ channel: "support" }), `hash-${kind}-3`);
      expect((await findReport(db, support.id))!.serviceTerms).toBeNull();
    });

    it("of a report stored before reports kept them are the settings of the first start after, given once", async () => {
      const db = database.db;
      const older = await insertReport(db, settings, buildNewReport({ channel: "sensitive" }), `hash-${kind}-4`);
      await db.updateTable("reports").set({ service_terms: null }).where("id", "=", older.id).execute();
      expect((await fixTermsOfEarlierReports(db, await settings.get())).fixed).toBe(1);
      expect((await findReport(db, older.id))!.serviceTerms).toEqual({ firstResponse: 24 * 60, triage: 5 * 24 * 60, resolution: DEFAULT_SETTINGS.resolutionTargets, calendar: null, disclosureDays: 90 });
      await updateSetting(settings, clock, cli, "targets", { ...DEFAULT_SETTINGS.targets, sensitive: { firstResponse: 5, triage: 5 } });
      expect((await fixTermsOfEarlierReports(db, await settings.get())).fixed).toBe(0);
      expect((await findReport(db, older.id))!.serviceTerms?.firstResponse).toBe(24 * 60);
    });

    it("kept before they named the disclosure deadline gain the settings' days once, and keep them", async () => {
      const db = database.db;
      const older = await insertReport(db, settings, buildNewReport({ channel: "vulnerability" }), `hash-${kind}-5`);
      const { disclosureDays: _dropped, ...withoutDeadline } = (await findReport(db, older.id))!.serviceTerms!;
      await db.updateTable("reports").set({ service_terms: JSON.stringify(withoutDeadline) }).where("id", "=", older.id).execute();
      await updateSetting(settings, clock, cli, "advisories", { ...DEFAULT_SETTINGS.advisories, disclosureDeadlineDays: 45 });

      expect((await fixTermsOfEarlierReports(db, await settings.get())).fixed).toBe(1);
      expect((await findReport(db, older.id))!.serviceTerms).toEqual({ ...withoutDeadline, disclosureDays: 45 });
      await updateSetting(settings, clock, cli, "advisories", { ...DEFAULT_SETTINGS.advisories, disclosureDeadlineDays: 30 });
      expect((await fixTermsOfEarlierReports(db, await settings.get())).fixed).toBe(0);
      expect((await findReport(db, older.id))!.serviceTerms?.disclosureDays).toBe(45);
    });
  });
});
