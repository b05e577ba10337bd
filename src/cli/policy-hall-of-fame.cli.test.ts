import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShield, runShieldJson } from "../../test/cli.js";
import { forEachDatabase } from "../../test/databases.js";
import { parseHtml } from "../../test/html.js";
import { createTestShield, type TestShield } from "../../test/shield.js";

const SEED_FILE = path.resolve(import.meta.dirname, "../../test/fixtures/seed-policy.md");

forEachDatabase((kind) => {
  describe("shield policy … and shield import hall-of-fame", () => {
    let shield: TestShield;
    let env: Record<string, string>;
    beforeAll(async () => {
      shield = await createTestShield(kind);
      env = { DATABASE_URL: shield.testDatabase.url, SHIELD_DATA_DIR: shield.dataDir, SHIELD_BASE_URL: "https://security.example.test" };
    });
    afterAll(async () => shield.destroy());

    const write = (name: string, text: string) => {
      const file = path.join(shield.dataDir, name);
      fs.writeFileSync(file, text);
      return file;
    };
    const shieldCli = (args: string[]) => runShield(args, env);
    const shieldJson = (args: string[]) => runShieldJson(args, env);
    const versions = async () => (await shield.database.db.selectFrom("policy_versions").select("id").execute()).length;

    it("refuses a policy with unknown variables, naming each with its line, and stores nothing", async () => {
      const file = write("bad.md", "---\ntitle: T\n---\n\n# T\n\nAsk {{ site.nope }} or {{ site.bounty_contact }}.\n");
      const result = await shieldCli(["policy", "import", file]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("{{ site.nope }} on line 7");
      expect(result.stderr).toContain("{{ site.bounty_contact }} on line 7");
      expect(result.stderr).toContain("Nothing was stored");
      expect(await versions()).toBe(0);
    });

    it("imports the seed, which /security then shows", async () => {
      const imported = await shieldJson(["policy", "import", SEED_FILE]);
      expect(imported).toMatchObject({ title: "Security Response", variables: ["email_security"], unchanged: false });
      // Written for another site: its key lives next to the page there. Imported, with a warning.
      expect(imported.linksNotServed).toEqual([{ line: 18, href: "../Basecamp-security.pub", path: "/Basecamp-security.pub" }]);
      const doc = parseHtml((await shield.app.inject({ method: "GET", url: "/security" })).body);
      expect(doc.querySelector("article.policy h1")?.textContent).toBe("Security response");
    });

    it("sets and lists variables, and refuses to shadow a built-in one", async () => {
      const set = await shieldJson(["policy", "set-var", "bounty_contact", "bounty@example.com"]);
      expect(set).toEqual({ name: "bounty_contact", value: "bounty@example.com", previous: null });
      const vars = await shieldJson(["policy", "vars"]);
      expect(vars.custom).toEqual([{ name: "bounty_contact", value: "bounty@example.com", updatedAt: expect.any(String) }]);
      expect(vars.builtIn).toContainEqual(expect.objectContaining({ name: "email_security", value: "mailto:security@example.com" }));
      expect(vars.builtIn).toContainEqual(expect.objectContaining({ name: "thanks_url", value: "https://security.example.test/security/thanks" }));

      const refused = await shieldCli(["policy", "set-var", "email_security", "mailto:x@example.com"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("built in");
    });

    it("imports the seed's hall of fame once and then adds nothing", async () => {
      expect(await shieldJson(["import", "hall-of-fame", SEED_FILE])).toEqual({ total: 86, added: 86, skipped: 0, refusedLinks: [] });
      const human = await shieldCli(["import", "hall-of-fame", SEED_FILE]);
      expect(human.code).toBe(0);
      expect(human.stdout).toContain("Added 0 of 86 entries to the hall of fame; 86 were listed already.");
      const doc = parseHtml((await shield.app.inject({ method: "GET", url: "/security/thanks" })).body);
      expect(doc.querySelectorAll("ul.hall-of-fame > li")).toHaveLength(86);
    });

    it("says clearly when the file does not exist", async () => {
      const result = await shieldCli(["import", "hall-of-fame", path.join(shield.dataDir, "missing.md")]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/cannot read .*missing\.md: no such file/);
    });
  });
});
