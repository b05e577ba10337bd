import { Migrator } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../../../test/databases.js";
import { buildNewReport } from "../../../test/factories.js";
import { migrateToLatest, openDatabase, type Database } from "../../platform/db/database.js";
import { ShieldMigrationProvider } from "../../platform/db/migrations/index.js";
import { findReport, indexNewReport, insertReport } from "./report.repository.js";
import { listReports, type ReportFilter } from "./report-list.repository.js";
import { findReportsSharingWords } from "./report-similarity.repository.js";
import { searchWords } from "./report-search.js";
import { SettingsReader } from "../settings/index.js";

/** A deterministic generator, so that a failure can be replayed. */
function generator(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Common words (most reports), rarer ones, and words sharing a prefix with "reset".
const VOCABULARY = ["password", "password", "reset", "token", "xss", "stored", "resets", "resetting", "rest", "export", "graphql", "kabri", "kabrinor", "zanzibar"];
const STATES = ["new", "acknowledged", "triaged", "resolved", "spam"];
const CHANNELS = ["vulnerability", "vulnerability", "account_attack", "support"];
const SEVERITIES = [null, "low", "high", "critical"];

interface Stored {
  id: number;
  state: string;
  channel: string;
  severity: string | null;
  ownerId: number | null;
  nextDeadlineAt: string | null;
  words: Set<string>;
}

/** What a search must answer, worked out from the stored text without any index. */
function expected(reports: Stored[], filter: ReportFilter, cap: number) {
  const words = filter.words ?? [];
  const matches = reports.filter(
    (r) =>
      (!filter.states || filter.states.includes(r.state as never)) &&
      (!filter.channels || filter.channels.includes(r.channel as never)) &&
      (filter.ownerId === undefined || r.ownerId === filter.ownerId) &&
      (!filter.severities || filter.severities.includes(r.severity as never)) &&
      words.every((w, i) => (i === words.length - 1 ? [...r.words].some((x) => x.startsWith(w)) : r.words.has(w))),
  );
  const queue = (r: Stored) => [r.nextDeadlineAt === null ? 1 : 0, r.nextDeadlineAt ?? "", r.id] as const;
  matches.sort((a, b) => {
    if (filter.sort !== "deadline") return b.id - a.id;
    const [x, y] = [queue(a), queue(b)];
    return x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0) || x[2] - y[2];
  });
  const isSearch = words.length > 0;
  return {
    ids: matches.slice(filter.offset, filter.offset + filter.limit).map((r) => r.id),
    total: isSearch ? Math.min(matches.length, cap) : matches.length,
    totalIsExact: !isSearch || matches.length <= cap,
  };
}

forEachDatabase((kind) => {
  describe("listing and searching reports", () => {
    let testDatabase: TestDatabase;
    let database: Database;
    const reports: Stored[] = [];

    beforeAll(async () => {
      testDatabase = await createTestDatabase(kind, { migrated: true });
      database = openDatabase(testDatabase.target);
      const { db } = database;
      const owners: number[] = [];
      for (const email of ["ann@example.com", "bob@example.com"]) {
        const row = await db.insertInto("users").values({ email, name: email, role: "triager", created_at: "2026-01-01T00:00:00.000Z" }).returning("id").executeTakeFirstOrThrow();
        owners.push(row.id);
      }
      const random = generator(7);
      const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
      const sentence = (n: number) => Array.from({ length: n }, () => (random() < 0.3 ? pick(["the", "a", "of", "page"]) : pick(VOCABULARY))).join(" ");
      for (let i = 0; i < 80; i++) {
        const title = sentence(3);
        const description = `${sentence(6)}, see https://example.com/${pick(VOCABULARY)}.`;
        const message = random() < 0.2 ? sentence(4) : null;
        // Deadlines repeat, so that the id decides between equal ones.
        const nextDeadlineAt = random() < 0.3 ? null : `2026-03-${String(10 + Math.floor(random() * 5)).padStart(2, "0")}T09:00:00.000Z`;
        const stored = { state: pick(STATES), channel: pick(CHANNELS), severity: pick(SEVERITIES), ownerId: random() < 0.4 ? null : pick(owners), nextDeadlineAt };
        const row = await db
          .insertInto("reports")
          .values({
            channel: stored.channel,
            state: stored.state,
            source: "api",
            title,
            description,
            reporter_name: "R",
            reporter_email: "r@example.org",
            severity: stored.severity,
            owner_id: stored.ownerId,
            tracking_hash: `hash-${i}`,
            received_at: "2026-03-01T09:00:00.000Z",
            paused_ms: 0,
            updated_at: "2026-03-01T09:00:00.000Z",
            next_deadline_at: nextDeadlineAt,
          })
          .returning("id")
          .executeTakeFirstOrThrow();
        await indexNewReport(db, row.id, { title, description, reporterName: "R", reporterEmail: "r@example.org" });
        if (message) await db.insertInto("messages").values({ report_id: row.id, author_kind: "team", author_user_id: null, body: message, internal: 1, created_at: "2026-03-01T10:00:00.000Z" }).execute();
        reports.push({ id: row.id, ...stored, words: new Set(searchWords(`${title} ${description} R r@example.org ${message ?? ""}`, Infinity)) });
      }
    });
    afterAll(async () => {
      await database.close();
      await testDatabase.drop();
    });

    const queries = ["password reset", "reset", "res", "password token xss", "kabri", "kabrinor password", "zanzibar", "nosuchword", "the"];
    const filters: Array<Partial<ReportFilter>> = [
      {},
      { states: ["new"] },
      { states: ["new", "acknowledged", "triaged"], channels: ["vulnerability"] },
      { ownerId: null },
      { severities: ["critical", "high"] },
      { channels: ["vulnerability", "account_attack"] },
      { states: ["spam"], channels: ["support"], severities: ["low"] },
    ];
    const pages = [
      { limit: 5, offset: 0 },
      { limit: 5, offset: 2 },
      { limit: 4, offset: 9 },
      { limit: 50, offset: 0 },
      { limit: 5, offset: 200 },
    ];

    // Small caps take a search through every plan: complete sets, the newest matches
    // holding the page, counts along either index, and pages read in their order.
    for (const cap of [3, 8, 1_000]) {
      it(`finds, orders, pages and counts search results as the stored text says, counting up to ${cap}`, async () => {
        for (const q of queries) {
          for (const f of filters) {
            for (const sort of ["newest", "deadline"] as const) {
              for (const page of pages) {
                const filter: ReportFilter = { ...f, words: searchWords(q), sort, ...page };
                const got = await listReports(database.db, filter, cap);
                expect({ ids: got.reports.map((r) => r.id), total: got.total, totalIsExact: got.totalIsExact }, JSON.stringify(filter)).toEqual(expected(reports, filter, cap));
              }
            }
          }
        }
      });
    }

    it("orders, pages and counts a listing without words exactly, however many reports it has", async () => {
      for (const f of filters) {
        for (const sort of ["newest", "deadline"] as const) {
          for (const page of pages) {
            const filter: ReportFilter = { ...f, sort, ...page };
            const got = await listReports(database.db, filter, 3);
            expect({ ids: got.reports.map((r) => r.id), total: got.total, totalIsExact: got.totalIsExact }, JSON.stringify(filter)).toEqual(expected(reports, filter, 3));
          }
        }
      }
    });

    it("pages a newest-first listing by the last id of each page, every match once, with the total of the whole list", async () => {
      for (const f of filters) {
        const whole = expected(reports, { ...f, sort: "newest", limit: 10_000, offset: 0 }, 3);
        const seen: number[] = [];
        let beforeId: number | undefined;
        for (;;) {
          const got = await listReports(database.db, { ...f, sort: "newest", limit: 7, offset: 0, ...(beforeId === undefined ? {} : { beforeId }) });
          expect(got.total, JSON.stringify(f)).toBe(whole.total);
          if (got.reports.length === 0) break;
          seen.push(...got.reports.map((r) => r.id));
          beforeId = got.reports.at(-1)!.id;
        }
        expect(seen, JSON.stringify(f)).toEqual(whole.ids);
      }
      await expect(listReports(database.db, { sort: "deadline", limit: 5, offset: 0, beforeId: 10 })).rejects.toThrow(RangeError);
      await expect(listReports(database.db, { words: searchWords("reset"), limit: 5, offset: 0, beforeId: 10 })).rejects.toThrow(RangeError);
    });
  });
});

forEachDatabase((kind) => {
  describe("candidates for similar reports", () => {
    let testDatabase: TestDatabase;
    let database: Database;
    const ids: Record<string, number[]> = { common: [], rare: [] };
    // Small bounds, so that a few reports reach them: a word in more than 5 reports is common.
    const bounds = { commonAt: 5, budget: 10, newest: 4 };

    beforeAll(async () => {
      testDatabase = await createTestDatabase(kind, { migrated: true });
      database = openDatabase(testDatabase.target);
      for (let n = 0; n < 12; n++) ids.common!.push((await insertReport(database.db, new SettingsReader(database.db), buildNewReport({ title: `Checkout page ${n}`, description: "The checkout total can be changed." }), `c${n}`)).id);
      for (let n = 0; n < 2; n++) ids.rare!.push((await insertReport(database.db, new SettingsReader(database.db), buildNewReport({ title: `Quokkaword export ${n}`, description: "The quokkaword export leaks rows." }), `r${n}`)).id);
    });
    afterAll(async () => {
      await database.close();
      await testDatabase.drop();
    });

    it("looks with the rare words when there are any, not with the common ones", async () => {
      const found = await findReportsSharingWords(database.db, ["checkout", "quokkaword"], -1, 50, bounds);
      expect(found.sort((a, b) => a - b)).toEqual(ids.rare);
    });

    it("ranks the newest matches of the first words when every word is common", async () => {
      const found = await findReportsSharingWords(database.db, ["checkout", "total"], ids.common!.at(-1)!, 50, bounds);
      expect(found.sort((a, b) => a - b)).toEqual(ids.common!.slice(-5, -1));
    });

    it("uses every word while their reports fit the budget, as on a small desk", async () => {
      const found = await findReportsSharingWords(database.db, ["checkout", "quokkaword"], -1, 50, { commonAt: 100, budget: 100, newest: 4 });
      expect(found).toHaveLength(14);
    });

    it("finds nothing for words no report has", async () => {
      expect(await findReportsSharingWords(database.db, ["zanzibarx"], -1, 50, bounds)).toEqual([]);
    });
  });
});

forEachDatabase((kind) => {
  describe("storing a new report", () => {
    it("answers with the report exactly as it is read back, hostile text included", async () => {
      const testDatabase = await createTestDatabase(kind, { migrated: true });
      const database: Database = openDatabase(testDatabase.target);
      try {
        for (const aiUsed of [true, false, null]) {
          const inserted = await insertReport(
            database.db,
            new SettingsReader(database.db),
            buildNewReport({
              title: `<script>alert(1)</script> \u0001\u202e ${"é".repeat(300)}`,
              description: "# Heading\n\n```\n'; drop table reports; --\n```\n\uFEFF",
              steps: aiUsed ? "1. step" : null,
              asset: "app.example.com",
              reporterName: "Zoë \u0007",
              reporterEmail: "zoe@example.org",
              creditName: aiUsed === false ? "Zoë" : null,
              aiUsed,
            }),
            `hash-${String(aiUsed)}`,
          );
          expect(await findReport(database.db, inserted.id)).toEqual(inserted);
        }
      } finally {
        await database.close();
        await testDatabase.drop();
      }
    });
  });
});

forEachDatabase((kind) => {
  describe("the search index across the upgrade to migration 009", () => {
    it("finds a report indexed before the upgrade and one stored after it, each once", async () => {
      const testDatabase = await createTestDatabase(kind);
      const database: Database = openDatabase(testDatabase.target);
      try {
        const migrator = new Migrator({ db: database.db, provider: new ShieldMigrationProvider(kind) });
        const upTo008 = await migrator.migrateTo("008-browser-encryption");
        expect(upTo008.error).toBeUndefined();
        const at = buildNewReport().receivedAt;
        // Stored by the version before 009, whose insert trigger indexed it.
        const before = await database.db
          .insertInto("reports")
          .values({ channel: "vulnerability", state: "new", source: "api", title: "Old report", description: "The quokkaword parameter is reflected.", reporter_name: "R", reporter_email: "r@example.org", tracking_hash: "old", received_at: at, paused_ms: 0, updated_at: at })
          .returning("id")
          .executeTakeFirstOrThrow();
        expect((await migrateToLatest(database)).applied[0]).toBe("009-search-index-on-insert");
        const after = await insertReport(database.db, new SettingsReader(database.db), buildNewReport({ title: "New report" }), "new");
        const found = await listReports(database.db, { words: searchWords("quokkaword"), limit: 10, offset: 0 });
        expect(found.reports.map((r) => r.id)).toEqual([after.id, before.id]);
        expect(found.total).toBe(2);
      } finally {
        await database.close();
        await testDatabase.drop();
      }
    });
  });
});

forEachDatabase((kind) => {
  describe("team search by the reporter (migration 024)", () => {
    it("finds reports by the reporter's name and e-mail address, stored before the upgrade or after, also once their thread grows", async () => {
      const testDatabase = await createTestDatabase(kind);
      const database: Database = openDatabase(testDatabase.target);
      try {
        const migrator = new Migrator({ db: database.db, provider: new ShieldMigrationProvider(kind) });
        expect((await migrator.migrateTo("023-imap-cursors")).error).toBeUndefined();
        const at = buildNewReport().receivedAt;
        const before = await database.db
          .insertInto("reports")
          .values({ channel: "vulnerability", state: "new", source: "api", title: "Old report", description: "Something old.", reporter_name: "Grace Hopper", reporter_email: "grace.hopper@navy.example", tracking_hash: "old", received_at: at, paused_ms: 0, updated_at: at })
          .returning("id")
          .executeTakeFirstOrThrow();
        if (kind === "sqlite") await indexNewReport(database.db, before.id, { title: "Old report", description: "Something old.", reporterName: "", reporterEmail: "" });
        expect((await migrateToLatest(database)).applied).toContain("024-search-reporter");
        const after = await insertReport(database.db, new SettingsReader(database.db), buildNewReport({ title: "New report", reporterName: "Grace Brewster", reporterEmail: "gb@lab.example" }), "new");
        const search = async (q: string) => (await listReports(database.db, { words: searchWords(q), limit: 10, offset: 0 })).reports.map((r) => r.id);
        expect(await search("grace")).toEqual([after.id, before.id]);
        expect(await search("grace.hopper@navy.example")).toEqual([before.id]);
        expect(await search("gb@lab.example")).toEqual([after.id]);
        expect(await search("Brews")).toEqual([after.id]);
        // A message rebuilds the entry: the reporter's words stay with it.
        await database.db.insertInto("messages").values({ report_id: before.id, author_kind: "team", author_user_id: null, body: "Thanks for the report.", internal: 0, created_at: at }).execute();
        expect(await search("hopper thanks")).toEqual([before.id]);
        expect(await search("queue search")).toEqual([]);
      } finally {
        await database.close();
        await testDatabase.drop();
      }
    });
  });
});
