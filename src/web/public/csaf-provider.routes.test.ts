import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, HOUR } from "../../../test/clock.js";
import { errorsOf, failedCsafMandatoryTests, validateCsaf, validateCve, validateOsv } from "../../../test/export-schemas.js";
import { GnuPG } from "../../../test/gnupg.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { createAdvisory, publishAdvisory } from "../../modules/advisories/index.js";
import { DEFAULT_SETTINGS, updateSetting } from "../../modules/settings/index.js";

/** Several products, several ranges each (one open-ended with a last affected version, one an npm package), both CVSS versions, a CVE id. */
const MULTI_PRODUCT = {
  products: [
    { vendor: "Example Inc.", product: "Basecamp", ranges: [{ introduced: "3.0.0", fixed: "3.4.7" }, { introduced: "4.0.0", fixed: "4.2.1" }], fixedVersion: "4.2.1" },
    { vendor: "Example Inc.", product: "HEY", ranges: [{ introduced: "0", lastAffected: "2026.10" }], fixedVersion: "2026.11" },
    { vendor: "Example OSS", product: "reset-token", ecosystem: "npm", packageName: "@example/reset-token", ranges: [{ introduced: "1.0.0", fixed: "1.0.9" }], fixedVersion: "1.0.9" },
  ],
  cvss31Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N",
  cvss40Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:N/SC:L/SI:L/SA:N",
  cwe: "CWE-640",
  cveId: "CVE-2026-12345",
  references: ["https://github.com/example/reset-token/security/advisories/1"],
  workarounds: "Disable password resets until you have updated.",
  credits: [{ name: "The reset-token maintainers", type: "remediation developer" as const }],
};

describe("the CSAF provider directory", () => {
  let shield: TestShield;
  let gpg: GnuPG;
  const clock = new FakeClock("2026-11-02T09:00:00.000Z");
  const cli = { kind: "cli" } as const;
  const ids: string[] = [];
  let draftId: string;

  beforeAll(async () => {
    shield = await createTestShield("sqlite", { clock });
    gpg = GnuPG.create();
    const db = shield.database.db;
    const submitted = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: { channel: "vulnerability", title: "XSS", description: "d", reporter: { name: "Ada", email: "ada@example.org" } } });
    const reportId = submitted.json().id as number;
    // The program is a CNA: advisories with a CVE id get their CVE record too.
    await updateSetting(shield.settings, clock, cli, "advisories", { ...DEFAULT_SETTINGS.advisories, cveOrgId: "b3476cb9-2e3d-41a6-98d0-0f47421a65b6", cveShortName: "example" });
    const settings = await shield.settings.get();
    const write = (title: string, content: Partial<Parameters<typeof createAdvisory>[4]> = {}) =>
      createAdvisory(db, clock, settings, cli, {
        reportIds: [reportId],
        title,
        summary: "Summary.",
        products: [{ vendor: "Example Inc.", product: "Basecamp", ranges: [{ introduced: "0", fixed: "4.2.1" }], fixedVersion: "4.2.1" }],
        ...content,
      });
    for (const [title, content] of [["First", {}], ["Second", {}], ["Account takeover through the password reset link", MULTI_PRODUCT]] as const) {
      const advisory = await write(title, content);
      await publishAdvisory({ db, clock, baseUrl: () => shield.config.baseUrl, events: shield.events, settings: shield.settings }, { actor: cli, mayOverride: true }, advisory.publicId, "directory test");
      ids.push(advisory.publicId);
      clock.advance(HOUR);
    }
    draftId = (await write("Draft", { cveId: "CVE-2026-7777" })).publicId;
  });
  afterAll(async () => {
    gpg?.destroy();
    await shield?.destroy();
  });

  const get = (url: string) => shield.app.inject({ method: "GET", url });
  const pathOf = (id: string) => `2026/${id.toLowerCase()}.json`;

  it("announces the provider, its TLP:WHITE folder and the team key in provider-metadata.json, and security.txt names it", async () => {
    const metadata = (await get("/.well-known/csaf/provider-metadata.json")).json();
    const key = await shield.keyring.current();
    expect(metadata).toMatchObject({
      canonical_url: "https://security.example.test/.well-known/csaf/provider-metadata.json",
      distributions: [{ directory_url: "https://security.example.test/.well-known/csaf/white/" }],
      metadata_version: "2.0",
      role: "csaf_provider",
      public_openpgp_keys: [{ fingerprint: key.fingerprint.toUpperCase(), url: "https://security.example.test/security/pgp-key.asc" }],
      publisher: { category: "vendor", namespace: "https://security.example.test" },
    });
    expect(metadata.last_updated).toBe("2026-11-02T11:00:00.000Z");
    expect((await get("/.well-known/security.txt")).body).toContain("CSAF: https://security.example.test/.well-known/csaf/provider-metadata.json");
  });

  it("lists the published documents in index.txt and changes.csv (latest change first), never a draft", async () => {
    const index = (await get("/.well-known/csaf/white/index.txt")).body;
    expect(index).toBe(`${pathOf(ids[0]!)}\n${pathOf(ids[1]!)}\n${pathOf(ids[2]!)}\n`);
    const changes = (await get("/.well-known/csaf/white/changes.csv")).body;
    expect(changes).toBe(`"${pathOf(ids[2]!)}","2026-11-02T11:00:00.000Z"\n"${pathOf(ids[1]!)}","2026-11-02T10:00:00.000Z"\n"${pathOf(ids[0]!)}","2026-11-02T09:00:00.000Z"\n`);
    expect(index + changes).not.toContain(draftId.toLowerCase());
    expect((await get(`/.well-known/csaf/white/${pathOf(draftId)}`)).statusCode).toBe(404);
    expect((await get(`/.well-known/csaf/white/2025/${ids[0]!.toLowerCase()}.json`)).statusCode).toBe(404);
  });

  it("serves every published advisory's exports valid by the official schemas, the CSAF documents passing csaf-validator-lib's mandatory tests, and a CVE record where there is a CVE id", async () => {
    for (const id of ids) {
      const osv = (await get(`/security/advisories/${id}/osv.json`)).json();
      expect(validateOsv(osv), errorsOf(validateOsv)).toBe(true);
      const csaf = (await get(`/.well-known/csaf/white/${pathOf(id)}`)).json();
      expect(validateCsaf(csaf), errorsOf(validateCsaf)).toBe(true);
      const { isValid, failed } = await failedCsafMandatoryTests(csaf);
      expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
      expect(isValid).toBe(true);
      const cve = await get(`/security/advisories/${id}/cve.json`);
      if (id !== ids[2]) {
        expect(cve.statusCode).toBe(404);
        continue;
      }
      expect(validateCve(cve.json()), errorsOf(validateCve)).toBe(true);
      // Every product and range of the multi-product advisory is in each format.
      expect(cve.json().cveMetadata.cveId).toBe("CVE-2026-12345");
      expect(cve.json().containers.cna.affected.map((a: { product: string }) => a.product)).toEqual(["Basecamp", "HEY", "reset-token"]);
      expect(osv.affected).toHaveLength(3);
      expect(csaf.product_tree.branches.flatMap((vendor: { branches: unknown[] }) => vendor.branches)).toHaveLength(3);
    }
    // The draft has a CVE id, and no export anywhere.
    for (const format of ["osv", "csaf", "cve"]) expect((await get(`/security/advisories/${draftId}/${format}.json`)).statusCode).toBe(404);
  });

  it("serves each document as on its advisory's page, with its SHA-256 and a team-key signature that GnuPG verifies", async () => {
    gpg.import((await get("/security/pgp-key.asc")).body);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-csaf-"));
    try {
      for (const id of ids) {
        const document = await get(`/.well-known/csaf/white/${pathOf(id)}`);
        expect(document.statusCode).toBe(200);
        expect(document.body).toBe((await get(`/security/advisories/${id}/csaf.json`)).body);
        expect(document.json().document.tracking.id).toBe(id);
        const sha = (await get(`/.well-known/csaf/white/${pathOf(id)}.sha256`)).body;
        expect(sha).toBe(`${createHash("sha256").update(document.rawPayload).digest("hex")}  ${id.toLowerCase()}.json\n`);
        const signature = await get(`/.well-known/csaf/white/${pathOf(id)}.asc`);
        expect(signature.body).toContain("-----BEGIN PGP SIGNATURE-----");
        const file = path.join(dir, `${id}.json`);
        fs.writeFileSync(file, document.rawPayload);
        fs.writeFileSync(`${file}.asc`, signature.body);
        const verified = gpg.run(["--verify", `${file}.asc`, file]);
        expect(verified.code, verified.stderr).toBe(0);
        expect(verified.stderr).toContain("Good signature");
        // A changed byte no longer verifies.
        fs.writeFileSync(file, Buffer.concat([document.rawPayload, Buffer.from(" ")]));
        expect(gpg.run(["--verify", `${file}.asc`, file]).code).not.toBe(0);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
