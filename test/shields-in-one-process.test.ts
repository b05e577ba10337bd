import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, updateSetting } from "../src/modules/settings/index.js";
import { forEachDatabase } from "./databases.js";
import { buildReportInput } from "./factories.js";
import { parseHtml } from "./html.js";
import { mailsStartingWith } from "./outbox.js";
import { createTestShield, type TestShield } from "./shield.js";

const cli = { kind: "cli" } as const;
const now = { now: () => new Date() };

interface Program {
  companyName: string;
  programName: string;
  securityEmail: string;
  /** The promised first response to a vulnerability report, in hours. */
  firstResponseHours: number;
}

const ACME: Program = { companyName: "Acme Corp", programName: "Acme PSIRT", securityEmail: "security@acme.example", firstResponseHours: 2 };
const BRAVO: Program = { companyName: "Bravo Ltd", programName: "Bravo Security", securityEmail: "psirt@bravo.example", firstResponseHours: 7 };

async function configure(shield: TestShield, program: Program): Promise<void> {
  await updateSetting(shield.settings, now, cli, "companyName", program.companyName);
  await updateSetting(shield.settings, now, cli, "programName", program.programName);
  await updateSetting(shield.settings, now, cli, "securityEmail", program.securityEmail);
  await updateSetting(shield.settings, now, cli, "targets", { ...DEFAULT_SETTINGS.targets, vulnerability: { firstResponse: program.firstResponseHours * 60, triage: 5 * 24 * 60 } });
}

// Several Shields may serve in one process (tests do, and so could a host of several
// programs): nothing one of them reads or shows may come from another's settings.
forEachDatabase((kind) => {
  describe("two Shields in one process", () => {
    let acme: TestShield;
    let bravo: TestShield;
    const programOf = (shield: TestShield) => (shield === acme ? ACME : BRAVO);

    beforeAll(async () => {
      acme = await createTestShield(kind);
      bravo = await createTestShield(kind);
      await configure(acme, ACME);
      await configure(bravo, BRAVO);
    });
    afterAll(async () => {
      await acme?.destroy();
      await bravo?.destroy();
    });

    it("show each their own program on every page, with their requests interleaved", async () => {
      const pages = ["/security", "/security/report", "/security/advisories", "/security/thanks", "/login"];
      const asked: Array<{ shield: TestShield; url: string }> = [];
      for (let round = 0; round < 4; round++) for (const url of pages) for (const shield of [acme, bravo]) asked.push({ shield, url });
      const answers = await Promise.all(asked.map(({ shield, url }) => shield.app.inject({ method: "GET", url })));

      const seen = answers.map((answer, i) => {
        const { shield, url } = asked[i]!;
        const doc = parseHtml(answer.body);
        return {
          url,
          status: answer.statusCode,
          company: doc.querySelector(".brand-company")?.textContent,
          program: doc.querySelector(".brand-program")?.textContent,
          titleEndsWith: doc.title.endsWith(` · ${programOf(shield).companyName}`),
          footer: doc.querySelector(".site-footer")?.textContent?.includes(`${programOf(shield).companyName} · ${programOf(shield).programName} · Security contact: ${programOf(shield).securityEmail}`),
        };
      });
      expect(seen).toEqual(asked.map(({ shield, url }) => ({ url, status: 200, company: programOf(shield).companyName, program: programOf(shield).programName, titleEndsWith: true, footer: true })));
    });

    it("store each report under its own Shield's terms and send its receipt in its own program's name", async () => {
      const submitted = await Promise.all(
        [acme, bravo, acme, bravo].map(async (shield) => {
          const answer = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel: "vulnerability" }) });
          expect(answer.statusCode).toBe(201);
          return { shield, id: (answer.json() as { id: number }).id };
        }),
      );
      await Promise.all([acme.worker.drain(), bravo.worker.drain()]);

      for (const { shield, id } of submitted) {
        const program = programOf(shield);
        const [receipt, ...more] = mailsStartingWith(shield, `receipt-${id}-`);
        expect(more).toEqual([]);
        expect(receipt).toMatch(new RegExp(`^From: ${program.securityEmail}`, "m"));
        expect(receipt).toContain(`Thank you for your report to the ${program.companyName} security team.`);
        expect(receipt).toContain(`will answer you within ${program.firstResponseHours} hours`);
        expect(receipt).toContain(`${program.programName}, ${program.companyName}`);
        const stored = await shield.database.db.selectFrom("reports").select(["service_terms", "received_at", "next_deadline_at"]).where("id", "=", id).executeTakeFirstOrThrow();
        expect(JSON.parse(stored.service_terms!).firstResponse).toBe(program.firstResponseHours * 60);
        expect(Date.parse(stored.next_deadline_at!) - Date.parse(stored.received_at)).toBe(program.firstResponseHours * 3_600_000);
      }
    });
  });
});
