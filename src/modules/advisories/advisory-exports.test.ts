import { describe, expect, it } from "vitest";
import { buildAdvisoryContent, buildPublishedAdvisory, cvssOf, EXPORT_CONTEXT } from "../../../test/advisories.js";
import { errorsOf, failedCsafMandatoryTests, validateCsaf, validateCve, validateOsv } from "../../../test/export-schemas.js";
import type { Advisory } from "./advisory.js";
import { exportCsaf, versOf } from "./csaf.exporter.js";
import { exportCve } from "./cve.exporter.js";
import { exportOsv } from "./osv.exporter.js";

const CVSS31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N";
const CVSS31_TEMPORAL = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N/E:P/RL:O";
const CVSS40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:N/SC:L/SI:L/SA:N";

/** Several advisories as the team writes them, the first with many products and ranges and a CVE id. */
const ADVISORIES: Array<[string, Advisory]> = [
  [
    "a multi-product, multi-range advisory with a CVE id, CVSS 3.1 and 4.0, CWE, workarounds, credits and three revisions",
    buildPublishedAdvisory(
      buildAdvisoryContent({
        title: "Account takeover through the password reset link",
        summary: "The reset link could be **replayed** after use.\n\nSee <https://example.com/notes>.",
        products: [
          {
            vendor: "Example Inc.",
            product: "Basecamp",
            ecosystem: null,
            packageName: null,
            ranges: [
              { introduced: "3.0.0", fixed: "3.4.7", lastAffected: null },
              { introduced: "4.0.0", fixed: "4.2.1", lastAffected: null },
            ],
            fixedVersion: "4.2.1",
          },
          { vendor: "Example Inc.", product: "HEY", ecosystem: null, packageName: null, ranges: [{ introduced: "0", fixed: null, lastAffected: "2026.10" }], fixedVersion: "2026.11" },
          { vendor: "Example OSS", product: "reset-token", ecosystem: "npm", packageName: "@example/reset-token", ranges: [{ introduced: "1.0.0", fixed: "1.0.9", lastAffected: null }], fixedVersion: "1.0.9" },
        ],
        cvss31: cvssOf("3.1", CVSS31),
        cvss40: cvssOf("4.0", CVSS40),
        cwe: { id: "CWE-640", name: "Weak Password Recovery Mechanism for Forgotten Password" },
        cveId: "CVE-2026-12345",
        references: ["https://github.com/example/reset-token/security/advisories/1", "https://example.com/changelog#4.2.1"],
        workarounds: "Disable password resets in *Settings → Security* until you have updated.",
        credits: [
          { name: "Ada Lovelace", url: "https://ada.example.org", type: "finder", reportId: 1 },
          { name: "The reset-token maintainers", url: null, type: "remediation developer", reportId: null },
        ],
      }),
      { publicId: "EXA-2026-007", revisions: ["Initial publication.", "HEY added as affected.", "CVSS 4.0 vector added."] },
    ),
  ],
  ["a minimal advisory: one product, one range, no score", buildPublishedAdvisory(buildAdvisoryContent(), { publicId: "EXA-2026-001" })],
  [
    "an advisory whose CVSS 3.1 vector carries temporal metrics, with an open-ended range",
    buildPublishedAdvisory(
      buildAdvisoryContent({
        title: "Information disclosure in exports",
        products: [{ vendor: "Example Inc.", product: "Exports", ecosystem: null, packageName: null, ranges: [{ introduced: "2.0", fixed: null, lastAffected: null }], fixedVersion: null }],
        cvss31: cvssOf("3.1", CVSS31_TEMPORAL),
        cwe: { id: "CWE-200", name: "Exposure of Sensitive Information to an Unauthorized Actor" },
        cveId: "CVE-2026-0042",
        credits: [{ name: "Grace Hopper", url: null, type: "reporter", reportId: 2 }],
      }),
      { publicId: "EXA-2026-002" },
    ),
  ],
];

describe("advisory exports", () => {
  describe.each(ADVISORIES)("%s", (_name, advisory) => {
    it("is a valid OSV record", () => {
      const document = exportOsv(advisory, EXPORT_CONTEXT);
      expect(validateOsv(document), errorsOf(validateOsv)).toBe(true);
      expect(document.id).toBe(`x_${advisory.publicId}`);
    });

    it("is a valid CSAF 2.0 document that passes every mandatory test of csaf-validator-lib", async () => {
      const document = exportCsaf(advisory, EXPORT_CONTEXT);
      expect(validateCsaf(document), errorsOf(validateCsaf)).toBe(true);
      const { isValid, failed } = await failedCsafMandatoryTests(document);
      expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
      expect(isValid).toBe(true);
    });

    it("is a valid CVE JSON 5 record when it has a CVE id", () => {
      if (!advisory.revisions.at(-1)!.content.cveId) {
        expect(() => exportCve(advisory, EXPORT_CONTEXT)).toThrow(/no CVE id/);
        return;
      }
      const document = exportCve(advisory, EXPORT_CONTEXT);
      expect(validateCve(document), errorsOf(validateCve)).toBe(true);
    });
  });

  it("follows the advisory's revisions in the CSAF tracking history, the latest being the document's version", () => {
    const [, advisory] = ADVISORIES[0]!;
    const tracking = (exportCsaf(advisory, EXPORT_CONTEXT).document as any).tracking;
    expect(tracking.version).toBe("3");
    expect(tracking.revision_history).toEqual([
      { number: "1", date: "2026-11-02T09:30:00.000Z", summary: "Initial publication." },
      { number: "2", date: "2026-11-03T09:30:00.000Z", summary: "HEY added as affected." },
      { number: "3", date: "2026-11-04T09:30:00.000Z", summary: "CVSS 4.0 vector added." },
    ]);
    expect(tracking.initial_release_date).toBe("2026-11-02T09:30:00.000Z");
    expect(tracking.current_release_date).toBe("2026-11-04T09:30:00.000Z");
  });

  it("names every range of every product as affected and each fixed version as fixed, in all three formats", () => {
    const [, advisory] = ADVISORIES[0]!;
    const csaf = exportCsaf(advisory, EXPORT_CONTEXT) as any;
    expect(csaf.vulnerabilities[0].product_status).toEqual({
      known_affected: ["CSAFPID-1-1", "CSAFPID-1-2", "CSAFPID-2-1", "CSAFPID-3-1"],
      fixed: ["CSAFPID-1-fixed", "CSAFPID-2-fixed", "CSAFPID-3-fixed"],
    });
    expect(JSON.stringify(csaf.product_tree)).toContain("vers:generic/>=3.0.0|<3.4.7");
    const osv = exportOsv(advisory, EXPORT_CONTEXT) as any;
    expect(osv.aliases).toEqual(["CVE-2026-12345"]);
    expect(osv.affected[0].ranges).toEqual([
      { type: "ECOSYSTEM", events: [{ introduced: "3.0.0" }, { fixed: "3.4.7" }] },
      { type: "ECOSYSTEM", events: [{ introduced: "4.0.0" }, { fixed: "4.2.1" }] },
    ]);
    expect(osv.affected[2].package).toEqual({ ecosystem: "npm", name: "@example/reset-token" });
    expect(osv.credits).toEqual([
      { name: "Ada Lovelace", contact: ["https://ada.example.org"], type: "FINDER" },
      { name: "The reset-token maintainers", type: "REMEDIATION_DEVELOPER" },
    ]);
    const cve = exportCve(advisory, EXPORT_CONTEXT) as any;
    expect(cve.containers.cna.affected[1].versions).toEqual([
      { version: "0", status: "affected", versionType: "custom", lessThanOrEqual: "2026.10" },
      { version: "2026.11", status: "unaffected", versionType: "custom" },
    ]);
    expect(cve.containers.cna.credits[1]).toEqual({ lang: "en", value: "The reset-token maintainers", type: "remediation developer" });
  });

  it("writes version ranges in the vers notation", () => {
    expect(versOf({ introduced: "0", fixed: "1.2", lastAffected: null })).toBe("vers:generic/<1.2");
    expect(versOf({ introduced: "1.0", fixed: null, lastAffected: "1.1" })).toBe("vers:generic/>=1.0|<=1.1");
    expect(versOf({ introduced: "0", fixed: null, lastAffected: null })).toBe("vers:generic/*");
  });

  it("gives no CVE record without the CNA's organisation id", () => {
    const [, advisory] = ADVISORIES[0]!;
    expect(() => exportCve(advisory, { ...EXPORT_CONTEXT, cveOrgId: null })).toThrow(/CNA organisation id/);
  });
});
