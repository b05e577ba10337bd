import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, HOUR } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, TestBrowser, totpCodeAt, type EnrolledMember } from "../../../test/sign-in.js";

function textOf(element: Element | null | undefined): string {
  return (element?.textContent ?? "").replace(/\s+/g, " ").trim();
}

forEachDatabase((kind) => {
  describe("the public program statistics /security/stats", () => {
    let shield: TestShield;
    const clock = new FakeClock("2026-11-02T09:00:00.000Z");
    let admin: EnrolledMember;
    let triager: EnrolledMember;

    beforeAll(async () => {
      shield = await createTestShield(kind, { clock });
      admin = await addEnrolledMember(shield, clock, "admin");
      triager = await addEnrolledMember(shield, clock, "triager");
    });
    afterAll(async () => shield.destroy());

    const signedIn = async (who: EnrolledMember) => {
      clock.advance(30_000);
      const b = new TestBrowser(shield, "198.51.100.77");
      expect((await b.signIn(who.member.email, who.password, await totpCodeAt(who.secret, clock))).statusCode).toBe(303);
      return b;
    };
    const stats = () => shield.app.inject({ method: "GET", url: "/security/stats" });
    /** The footer's links of each public page, by their text. */
    const footerLinks = async () =>
      Promise.all(
        ["/security", "/security/advisories", "/security/thanks", "/security/report"].map(async (url) => {
          const doc = parseHtml((await shield.app.inject({ method: "GET", url })).body);
          return [...doc.querySelectorAll("footer a")].map((a) => `${textOf(a)} ${a.getAttribute("href")}`);
        }),
      );

    it("is not there until an admin opts in, and no public page links it", async () => {
      const response = await stats();
      expect(response.statusCode).toBe(404);
      expect(response.body).not.toContain("Time to first response");
      for (const links of await footerLinks()) {
        expect(links).toContain("security.txt /.well-known/security.txt");
        expect(links.join(" ")).not.toContain("/security/stats");
      }
    });

    it("shows, once opted in on the settings page, the median and 90th percentile time to first response per channel and the share of promises kept, and nothing of any report", async () => {
      // Ten vulnerability reports answered after 1 to 10 hours, one account attack answered after 3 hours (2 promised).
      const ids: number[] = [];
      for (let i = 0; i < 10; i++) {
        const submitted = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel: "vulnerability", title: `Secret title zq${i}`, description: "Secret text wxyzzy" }), remoteAddress: `192.0.2.${i + 1}` });
        expect(submitted.statusCode).toBe(201);
        ids.push(submitted.json().id);
      }
      const attack = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel: "account_attack", title: "Secret attack" }), remoteAddress: "192.0.2.99" });
      const acknowledge = (id: number) => shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/transitions`, headers: { authorization: `Bearer ${triager.apiToken}` }, payload: { to: "acknowledged", reason: "on it" } });
      for (const [i, id] of ids.entries()) {
        clock.set(new Date(Date.parse("2026-11-02T09:00:00.000Z") + (i + 1) * HOUR));
        expect((await acknowledge(id)).statusCode).toBe(200);
        if (i === 2) expect((await acknowledge(attack.json().id)).statusCode).toBe(200);
      }

      const b = await signedIn(admin);
      const settings = parseHtml((await b.get("/desk/settings")).body);
      expect(settings.querySelector("label[for]")).not.toBeNull();
      const box = [...settings.querySelectorAll("label")].find((l) => textOf(l) === "Publish the program's statistics at /security/stats");
      expect(box?.querySelector("input[type=checkbox]")?.hasAttribute("checked")).toBe(false);
      const saved = await b.post("/desk/settings/disclosure", { "advisories.idPrefix": "SEC", "advisories.disclosureDeadlineDays": "90", "advisories.cveOrgId": "", "advisories.cveShortName": "", publicStats: "on" });
      expect(saved.statusCode).toBe(303);

      const response = await stats();
      expect(response.statusCode).toBe(200);
      const doc = parseHtml(response.body);
      // Every public page's footer now leads there; the page itself marks it as the current one.
      for (const links of await footerLinks()) expect(links).toContain("Program statistics /security/stats");
      expect(doc.querySelector('footer a[href="/security/stats"]')?.getAttribute("aria-current")).toBe("page");
      // The account attack missed its first response (3 h for 2) and its triage (4 h, still open): 10 of 12 promises kept.
      const rows = [...doc.querySelectorAll("#first-response tbody tr")].map((tr) => [...tr.children].map(textOf));
      expect(rows).toEqual([
        ["Account under attack", "1", "1", "3 h", "3 h", "2 hours", "0 % (of 1)"],
        ["Vulnerability report", "10", "10", "5 h 30 min", "9 h", "72 hours", "100 % (of 10)"],
        ["Other urgent or sensitive report", "0", "0", "—", "—", "24 hours", "—"],
      ]);
      expect(textOf(doc.querySelector("#promises-kept"))).toBe("83 % of the promised times decided in this period were kept (10 of 12: first response, triage and resolution).");
      for (const secret of ["Secret title", "Secret text", "Secret attack", "wxyzzy"]) expect(response.body).not.toContain(secret);
    });

    it("refuses a disclosure deadline that is not a whole number of days, next to its field", async () => {
      const b = await signedIn(admin);
      await b.get("/desk/settings");
      const refused = await b.post("/desk/settings/disclosure", { "advisories.idPrefix": "SEC", "advisories.disclosureDeadlineDays": "ninety", "advisories.cveOrgId": "", "advisories.cveShortName": "", publicStats: "on" });
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toContain("must be a whole number of days, such as 90");
    });
  });
});
