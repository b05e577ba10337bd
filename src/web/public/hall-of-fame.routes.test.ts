import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { verifyAuditLog } from "../../modules/audit/index.js";
import { addHallOfFameEntry, changeHallOfFameEntry, importHallOfFame, listHallOfFameEntries, removeHallOfFameEntry } from "../../modules/hall-of-fame/index.js";
import { isoNow, systemClock } from "../../shared/clock.js";
import { FakeClock } from "../../../test/clock.js";

const SEED = fs.readFileSync(path.resolve(import.meta.dirname, "../../../test/fixtures/seed-policy.md"), "utf8");
const admin = { kind: "cli" } as const;

forEachDatabase((kind) => {
  describe("the hall of fame /security/thanks", () => {
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind);
    });
    afterAll(async () => shield.destroy());

    const thanks = async () => {
      const response = await shield.app.inject({ method: "GET", url: "/security/thanks" });
      expect(response.statusCode).toBe(200);
      return parseHtml(response.body);
    };
    const items = async () => [...(await thanks()).querySelectorAll("ul.hall-of-fame > li")];

    it("says that no one is listed yet on a fresh install", async () => {
      const doc = await thanks();
      expect(doc.querySelector("h1")?.textContent).toBe("Hall of fame");
      expect(doc.querySelector("main")?.textContent).toContain("No one is listed yet");
      expect(doc.querySelector("ul.hall-of-fame")).toBeNull();
    });

    it("imports the seed's 86 entries with their 64 links, in the seed's order", async () => {
      const progress: number[] = [];
      const result = await importHallOfFame(shield.database.db, systemClock, admin, SEED, (done) => progress.push(done));
      expect(result).toEqual({ total: 86, added: 86, skipped: 0, refusedLinks: [] });
      expect(progress.at(-1)).toBe(86);

      const listed = await items();
      expect(listed).toHaveLength(86);
      const links = listed.flatMap((li) => [...li.querySelectorAll("a")]);
      expect(links).toHaveLength(64);
      for (const a of links) {
        expect(a.getAttribute("rel")).toBe("nofollow ugc noopener");
        expect(a.getAttribute("href")).toMatch(/^https?:\/\//);
      }
      expect(listed[0]!.textContent).toBe("Brett Hardin");
      expect(listed[1]!.querySelector("a")?.getAttribute("href")).toBe("http://brian.mastenbrook.net");
      expect(listed.at(-1)!.textContent).toBe("Bram Gagliardi (securibee)");
    });

    it("shows the tricky entries exactly as the seed page reads", async () => {
      const listed = await items();
      const entry = (text: string) => listed.find((li) => li.textContent === text);
      expect(entry("Abhinav Karnawat / w4rri0r /")?.querySelector("a")?.getAttribute("href")).toBe("http://www.w4rri0r.com");
      expect(entry("Nakul Mohan (@Anonymous_India)")?.querySelector("a")?.getAttribute("href")).toBe("https://www.facebook.com/nakul.cia");
      expect(entry("Shivam Kumar Agarwal, Nithish Varghese, and Sahil Srivastava")?.querySelector("a")?.getAttribute("href")).toBe("https://twitter.com/netanalysts");
      expect(entry("Harsha Vardhan Boppana (Login Security Solution (P) Limited)")?.querySelector("a")).toBeNull();
      expect(entry("Chris Raethke (Bugcrowd)")?.querySelector("a")?.getAttribute("href")).toBe("https://bugcrowd.com");
      expect(entry("Daniel Alvear(MaztoR IN-Security)")).toBeDefined();
      expect(entry("Óscar Repáraz")?.querySelector("a")?.getAttribute("href")).toBe("http://www.reparaz.net");
      expect(entry("Jovan Šikanja")).toBeDefined();
      expect(entry("Frans Rosén")).toBeDefined();
      expect(listed.some((li) => li.textContent!.includes("\\"))).toBe(false);
    });

    it("adds nothing when the same file is imported again", async () => {
      const result = await importHallOfFame(shield.database.db, systemClock, admin, SEED);
      expect(result).toMatchObject({ total: 86, added: 0, skipped: 86 });
      expect(await items()).toHaveLength(86);
    });

    it("audits every entry it adds, in the same chain", async () => {
      const events = await shield.database.db.selectFrom("audit_events").select(["action", "data"]).where("action", "=", "hall_of_fame.entry_added").orderBy("seq").execute();
      expect(events).toHaveLength(86);
      expect(JSON.parse(events[0]!.data)).toMatchObject({ name: "Brett Hardin", url: null, position: 1, source: "import" });
      expect((await verifyAuditLog(shield.database.db)).ok).toBe(true);
    });

    it("adds new entries of a list after the existing ones and skips those listed already", async () => {
      const result = await importHallOfFame(shield.database.db, systemClock, admin, "* Brett  Hardin\n* [Ada Lovelace](https://ada.example/)\n* [Ada Lovelace](https://ADA.example)\n");
      expect(result).toMatchObject({ total: 3, added: 1, skipped: 2 });
      const listed = await items();
      expect(listed).toHaveLength(87);
      expect(listed.at(-1)!.textContent).toBe("Ada Lovelace");
    });

    it("refuses a list with a bad item whole, naming its line", async () => {
      const error = await importHallOfFame(shield.database.db, systemClock, admin, `* Fine Name\n* ${"x".repeat(400)}\n`).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "validation_failed", fields: { "line 2": expect.stringMatching(/at most 300/) } });
      expect(await items()).toHaveLength(87);
    });

    it("escapes a hostile name and shows its affiliation after it", async () => {
      await shield.database.db.transaction().execute((tx) =>
        addHallOfFameEntry(tx, { kind: "system" }, { name: '<img src=x onerror="alert(1)">', url: "https://x.example/?a=1&b=\"2\"", affiliation: "<b>Evil</b> Corp" }, "credit", isoNow(systemClock)),
      );
      const doc = await thanks();
      const last = [...doc.querySelectorAll("ul.hall-of-fame > li")].at(-1)!;
      expect(last.textContent).toBe('<img src=x onerror="alert(1)"> (<b>Evil</b> Corp)');
      expect(last.querySelector("img, b")).toBeNull();
      expect(last.querySelector("a")?.getAttribute("href")).toBe('https://x.example/?a=1&b="2"');
      // Isolated, so that a right-to-left name (or an override character in one) cannot reorder the text around it.
      expect(last.querySelector("a > bdi")?.textContent).toBe('<img src=x onerror="alert(1)">');
      expect(last.querySelector(":scope > bdi")?.textContent).toBe("<b>Evil</b> Corp");
    });

    it("lists the entries under the year they were added, in the order they were added", async () => {
      const thisYear = systemClock.now().toISOString().slice(0, 4);
      const nextYear = String(Number(thisYear) + 1);
      await importHallOfFame(shield.database.db, new FakeClock(`${nextYear}-02-01T10:00:00.000Z`), admin, "* Grace Hopper\n* [Katherine Johnson](https://kj.example/)\n");
      const doc = await thanks();
      expect([...doc.querySelectorAll("main h2")].map((h) => h.textContent)).toEqual([`${thisYear}`, `${nextYear}`]);
      const lists = [...doc.querySelectorAll("ul.hall-of-fame")];
      expect(lists.map((ul) => ul.children.length)).toEqual([88, 2]);
      expect([...lists[1]!.children].map((li) => li.textContent)).toEqual(["Grace Hopper", "Katherine Johnson"]);
      expect(lists[0]!.lastElementChild?.textContent).toBe('<img src=x onerror="alert(1)"> (<b>Evil</b> Corp)');

      // Added later by a process whose clock says this year still: under this year's heading, not a second one.
      await importHallOfFame(shield.database.db, new FakeClock(`${thisYear}-12-31T23:59:00.000Z`), admin, "* Mary Jackson\n");
      const again = await thanks();
      expect([...again.querySelectorAll("main h2")].map((h) => h.textContent)).toEqual([`${thisYear}`, `${nextYear}`]);
      expect([...again.querySelectorAll("ul.hall-of-fame")].map((ul) => ul.lastElementChild?.textContent)).toEqual(["Mary Jackson", "Katherine Johnson"]);
    });

    it("imports a \"# Hall of fame\" file with links and years in parentheses, each entry under its own year, once", async () => {
      const file = "# Hall of fame\n\nWith thanks to:\n\n* Jane Doe (https://janedoe.example)\n* Peggy (2023)\n* [Ken](https://ken.example/) (2019)\n";
      expect(await importHallOfFame(shield.database.db, systemClock, admin, file)).toMatchObject({ total: 3, added: 3 });
      expect(await importHallOfFame(shield.database.db, systemClock, admin, file)).toMatchObject({ total: 3, added: 0, skipped: 3 });
      const doc = await thanks();
      const section = (year: string) => doc.querySelector(`#year-${year} + ul.hall-of-fame`);
      expect([...section("2019")!.children].map((li) => li.textContent)).toEqual(["Ken"]);
      expect(section("2019")!.querySelector("a")?.getAttribute("href")).toBe("https://ken.example/");
      expect([...section("2023")!.children].map((li) => li.textContent)).toEqual(["Peggy"]);
      const jane = [...doc.querySelectorAll("ul.hall-of-fame a")].find((a) => a.textContent === "Jane Doe");
      expect(jane?.getAttribute("href")).toBe("https://janedoe.example");
    });
  });
});

forEachDatabase((kind) => {
  describe("changing and removing hall-of-fame entries", () => {
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind);
    });
    afterAll(async () => shield.destroy());

    it("changes an entry in place, refuses one that would repeat another (409), removes one, and the audit log still verifies", async () => {
      await importHallOfFame(shield.database.db, systemClock, admin, "* Alice\n* Bob (2021)\n* Carol\n");
      const [alice, bob, carol] = await listHallOfFameEntries(shield.database.db);
      const changed = await changeHallOfFameEntry(shield.database.db, systemClock, admin, bob!.id, { name: "Bob B.", url: "https://bob.example", affiliation: "Example Ltd", year: 2022 });
      expect(changed).toMatchObject({ id: bob!.id, name: "Bob B.", url: "https://bob.example", affiliation: "Example Ltd", year: 2022, position: bob!.position });
      await expect(changeHallOfFameEntry(shield.database.db, systemClock, admin, carol!.id, { name: "alice", url: null, affiliation: null })).rejects.toMatchObject({ code: "hall_of_fame_entry_exists", kind: "conflict" });
      await expect(changeHallOfFameEntry(shield.database.db, systemClock, admin, carol!.id, { name: "Carol", url: "javascript:alert(1)", affiliation: null })).rejects.toMatchObject({ kind: "invalid" });
      await removeHallOfFameEntry(shield.database.db, systemClock, admin, alice!.id);
      await expect(removeHallOfFameEntry(shield.database.db, systemClock, admin, alice!.id)).rejects.toMatchObject({ code: "hall_of_fame_entry_not_found" });
      expect((await listHallOfFameEntries(shield.database.db)).map((e) => e.name)).toEqual(["Bob B.", "Carol"]);
      // The same entry imported again is new once more: it was removed, not hidden.
      expect(await importHallOfFame(shield.database.db, systemClock, admin, "* Alice\n")).toMatchObject({ added: 1 });
      expect((await verifyAuditLog(shield.database.db)).ok).toBe(true);
    });
  });
});
