import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { listAuditEventsFor, verifyAuditLog } from "../../modules/audit/index.js";
import { importPolicy, PUBLIC_PAGES, setPolicyVariable } from "../../modules/policy/index.js";
import { updateSetting } from "../../modules/settings/index.js";
import { systemClock } from "../../shared/clock.js";
import { DomainError } from "../../shared/errors.js";

const SEED = fs.readFileSync(path.resolve(import.meta.dirname, "../../../test/fixtures/seed-policy.md"), "utf8");
const admin = { kind: "cli" } as const;

forEachDatabase((kind) => {
  describe("the policy page /security", () => {
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind);
      await updateSetting(shield.settings, systemClock, admin, "securityEmail", "psirt@shield-test.example");
      await updateSetting(shield.settings, systemClock, admin, "companyName", "Acme Widgets");
    });
    afterAll(async () => shield.destroy());

    const page = async () => {
      const response = await shield.app.inject({ method: "GET", url: "/security" });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toMatch(/^text\/html/);
      return { response, doc: parseHtml(response.body) };
    };
    const policyVersions = async () => shield.database.db.selectFrom("policy_versions").selectAll().execute();

    it("sends a visitor of the site's root to the policy page, not to a JSON answer", async () => {
      const response = await shield.app.inject({ method: "GET", url: "/" });
      expect(response.statusCode).toBe(302);
      expect(response.headers.location).toBe("/security");
      expect(response.body).not.toMatch(/^\{/);
    });

    it("shows a complete default policy on a fresh install, with the promised times and contacts from the settings", async () => {
      const { response, doc } = await page();
      const text = doc.querySelector("article.policy")?.textContent ?? "";
      expect(doc.querySelector("title")?.textContent).toMatch(/^Security Response/);
      expect(doc.querySelector('meta[name="description"]')?.getAttribute("content")).toContain("Acme Widgets");
      expect([...doc.querySelectorAll("article.policy h2")].map((h) => h.textContent)).toEqual([
        "We appreciate your concern",
        "Reporting security problems",
        "What happens after you report",
        "Disclosure",
        "Thanks for working with us",
      ]);
      expect(text).toContain("We respond within 2 hours");
      expect(text).toContain("get back to you within 72 hours");
      expect(text).toContain("We respond within 24 hours");
      expect(text).toContain("at Acme Widgets");
      const hrefs = [...doc.querySelectorAll("article.policy a")].map((a) => a.getAttribute("href"));
      expect(hrefs).toContain("mailto:psirt@shield-test.example");
      expect(hrefs).toContain("https://security.example.test/security/report");
      expect(hrefs).toContain("https://security.example.test/security/pgp-key.asc");
      expect(hrefs).toContain("https://security.example.test/security/thanks");
      expect(hrefs).toContain("mailto:support@example.com");
      expect(doc.querySelectorAll("article.policy li")).toHaveLength(4);
      expect(response.body).not.toContain("{{");
      expect(response.body).not.toContain("[site.");
    });

    it("follows a change of the promised time in the settings", async () => {
      await updateSetting(shield.settings, systemClock, admin, "targets", {
        account_attack: { firstResponse: 60, triage: 240 },
        vulnerability: { firstResponse: 72 * 60, triage: 10 * 24 * 60 },
        sensitive: { firstResponse: 24 * 60, triage: 5 * 24 * 60 },
      });
      const { doc } = await page();
      expect(doc.querySelector("article.policy")?.textContent).toContain("We respond within 1 hour and work with you");
    });

    it("renders the imported seed completely: headings, lists, links, variables and its list of thanks", async () => {
      const result = await importPolicy(shield.database.db, systemClock, admin, SEED);
      expect(result).toMatchObject({ title: "Security Response", variables: ["email_security"], unchanged: false });

      const { response, doc } = await page();
      const article = doc.querySelector("article.policy")!;
      expect(doc.querySelector("title")?.textContent).toMatch(/^Security Response/);
      expect(doc.querySelector('meta[name="description"]')?.getAttribute("content")).toBe(
        "Have you discovered a web security flaw that might impact one of our products? Here’s how you can report it.",
      );
      expect(article.querySelector("h1")?.textContent).toBe("Security response");
      expect([...article.querySelectorAll("h2")].map((h) => h.textContent)).toEqual([
        "We appreciate your concern",
        "Reporting security problems",
        "Tracking and disclosing security issues",
        "Thanks for working with us",
      ]);

      const links = [...article.querySelectorAll("a")];
      const security = links.filter((a) => a.textContent === "Security team");
      expect(security).toHaveLength(2);
      for (const a of security) expect(a.getAttribute("href")).toBe("mailto:psirt@shield-test.example");
      const hrefOf = (text: string) => links.find((a) => a.textContent === text)?.getAttribute("href");
      expect(hrefOf("mailbombing")).toBe("https://en.wikipedia.org/wiki/Email_bomb");
      expect(hrefOf("shield@hey.com")).toBe("mailto:shield@hey.com");
      expect(hrefOf("our bug bounty program on HackerOne")).toBe("https://hackerone.com/basecamp");
      expect(hrefOf("our public key")).toBe("../Basecamp-security.pub");
      expect(hrefOf("support request")).toBe("mailto:amaury@reacher.email");
      for (const a of links) expect(a.getAttribute("rel")).toBe("nofollow ugc noopener");
      expect(article.querySelector("strong")?.textContent).toBe("If you are a HEY customer and your account is under an attack");

      const [steps, thanks] = [...article.querySelectorAll("ul")];
      expect(steps!.querySelectorAll("li")).toHaveLength(4);
      expect(thanks!.querySelectorAll("li")).toHaveLength(86);
      expect(thanks!.querySelectorAll("a")).toHaveLength(64);
      expect(thanks!.querySelector("li")?.textContent).toBe("Brett Hardin");
      expect([...thanks!.querySelectorAll("li")].map((li) => li.textContent)).toContain("Nakul Mohan (@Anonymous_India)");
      expect([...thanks!.querySelectorAll("li")].map((li) => li.textContent)).toContain("Abhinav Karnawat / w4rri0r /");

      expect(response.body).not.toContain("{{");
      expect(response.body).not.toContain("site.email_security");
    });

    it("serves every page the policy import accepts links to (PUBLIC_PAGES), and not their trailing-slash forms", async () => {
      for (const page of PUBLIC_PAGES) {
        const response = await shield.app.inject({ method: "GET", url: page });
        expect(response.statusCode, page).toBe(page === "/security.txt" ? 301 : 200);
        const slashed = await shield.app.inject({ method: "GET", url: `${page}/` });
        expect(slashed.statusCode, `${page}/`).toBe(404);
      }
    });

    it("stores each import as a version with an audit event, and a repeated import changes nothing", async () => {
      const before = (await policyVersions()).length;
      const again = await importPolicy(shield.database.db, systemClock, admin, SEED);
      expect(again.unchanged).toBe(true);
      expect(await policyVersions()).toHaveLength(before);
      const [stored] = await policyVersions();
      expect(stored!.source).toBe(SEED);
      expect(stored!.imported_by).toBe("cli");
      const events = await listAuditEventsFor(shield.database.db, "policy", String(stored!.id));
      expect(events.map((e) => e.action)).toEqual(["policy.imported"]);
      expect(JSON.parse(events[0]!.data)).toMatchObject({ title: "Security Response", variables: ["email_security"] });
      expect((await verifyAuditLog(shield.database.db)).ok).toBe(true);
    });

    it("refuses a policy with an unknown variable, naming it and its line, and stores nothing", async () => {
      const before = await policyVersions();
      const source = "---\ntitle: Policy\n---\n\n# Policy\n\nSee {{ site.bounty_table }} and {{site.email_security}}.\n\nAsk {{ site.bounty_contact }}.\n";
      const error = await importPolicy(shield.database.db, systemClock, admin, source).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe("unknown_policy_variables");
      expect((error as DomainError).message).toContain("{{ site.bounty_table }} on line 7");
      expect((error as DomainError).message).toContain("{{ site.bounty_contact }} on line 9");
      expect(await policyVersions()).toEqual(before);
    });

    it("imports a SECURITY.md without front matter, titled by its first heading, as the whole page", async () => {
      const source = "# Security Policy\n\n## Reporting a vulnerability\n\nMail {{ site.email_security }}.\n";
      const result = await importPolicy(shield.database.db, systemClock, admin, source);
      expect(result.unchanged).toBe(false);
      const { doc } = await page();
      expect(doc.querySelector("title")?.textContent).toMatch(/^Security Policy/);
      expect(doc.querySelector("article.policy h1")?.textContent).toBe("Security Policy");
      expect(doc.querySelector("article.policy")?.textContent).toMatch(/Mail [^\s{}]+@[^\s{}]+\./);
    });

    it("fills a custom variable once it is set, audited, and then accepts the policy", async () => {
      const set = await setPolicyVariable(shield.database.db, systemClock, admin, "bounty_url", "https://hackerone.com/acme");
      expect(set).toEqual({ name: "bounty_url", value: "https://hackerone.com/acme", previous: null });
      expect((await listAuditEventsFor(shield.database.db, "policy_variable", "bounty_url")).map((e) => e.action)).toEqual(["policy.variable_set"]);

      await importPolicy(shield.database.db, systemClock, admin, "---\ntitle: Acme security\ndescription: Report to {{ site.company_name }}\n---\n\nUse [our bounty]({{ site.bounty_url }}).\n");
      const { doc } = await page();
      expect(doc.querySelector("title")?.textContent).toMatch(/^Acme security/);
      expect(doc.querySelector('meta[name="description"]')?.getAttribute("content")).toBe("Report to Acme Widgets");
      expect(doc.querySelector("article.policy a")?.getAttribute("href")).toBe("https://hackerone.com/acme");

      await setPolicyVariable(shield.database.db, systemClock, admin, "bounty_url", "https://hackerone.com/acme-2");
      expect((await page()).doc.querySelector("article.policy a")?.getAttribute("href")).toBe("https://hackerone.com/acme-2");
    });

    it("shows a variable that lost its value in visible brackets instead of leaving a gap", async () => {
      await importPolicy(shield.database.db, systemClock, admin, "---\ntitle: T\n---\n\nBounty: {{ site.bounty_url }}\n");
      await shield.database.db.deleteFrom("policy_variables").where("name", "=", "bounty_url").execute();
      const { doc, response } = await page();
      expect(doc.querySelector("article.policy")?.textContent).toContain("Bounty: [site.bounty_url]");
      expect(response.body).not.toContain("{{");
    });

    it("renders nothing executable from a hostile policy", async () => {
      await importPolicy(
        shield.database.db,
        systemClock,
        admin,
        '---\ntitle: "<script>alert(1)</script>"\ndescription: "\\"><script>alert(2)</script>"\n---\n\n<script>alert(3)</script>\n\n[x](javascript:alert(4)) <img src=x onerror=alert(5)> ![t](https://evil.test/t.gif)\n',
      );
      const { doc } = await page();
      expect(doc.querySelectorAll("script, img")).toHaveLength(0);
      expect(doc.querySelector("title")?.textContent).toMatch(/^<script>alert\(1\)<\/script>/);
      expect([...doc.querySelectorAll("a[href]")].map((a) => a.getAttribute("href"))).not.toContain("javascript:alert(4)");
      expect(doc.querySelector('article.policy a[href="https://evil.test/t.gif"]')?.textContent).toBe("t");
    });
  });
});
