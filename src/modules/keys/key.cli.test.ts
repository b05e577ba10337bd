import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShield, runShieldJson } from "../../../test/cli.js";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../../../test/databases.js";
import { GnuPG } from "../../../test/gnupg.js";


forEachDatabase((kind) => {
  describe("shield key", () => {
    let testDatabase: TestDatabase;
    let dataDir: string;
    let gpg: GnuPG;
    let env: Record<string, string>;
    beforeAll(async () => {
      testDatabase = await createTestDatabase(kind);
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-data-"));
      gpg = GnuPG.create();
      env = { DATABASE_URL: testDatabase.url, SHIELD_DATA_DIR: dataDir };
      await runShieldJson(["migrate"], env);
    });
    afterAll(async () => {
      gpg.destroy();
      fs.rmSync(dataDir, { recursive: true, force: true });
      await testDatabase.drop();
    });

    const file = (name: string, content: string) => {
      const target = path.join(dataDir, name);
      fs.writeFileSync(target, content);
      return target;
    };

    it("show says there is no key before the first start", async () => {
      const result = await runShield(["key", "show"], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/no team key yet/);
    });

    it("import refuses a public key with a clear message and exit code 1", async () => {
      const fpr = gpg.generateKey("Team <security@example.com>", { passphrase: "s3cret pass" });
      const result = await runShield(["key", "import", file("public.asc", gpg.exportPublic(fpr))], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("This is a public key. Import the private key");
    });

    it("import takes a protected key with --passphrase-file, and show prints it", async () => {
      const fpr = gpg.fingerprintOf("security@example.com");
      const keyFile = file("team.asc", gpg.exportSecret(fpr, "s3cret pass"));
      const missing = await runShield(["key", "import", keyFile], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("--passphrase-file");

      const imported = await runShieldJson(["key", "import", keyFile, "--passphrase-file", file("pass.txt", "s3cret pass\n")], env);
      expect(imported).toMatchObject({ unchanged: false, replaced: null, key: { fingerprint: fpr, source: "imported", algorithm: "EdDSA Ed25519, subkeys ECDH Curve25519" } });
      expect(JSON.stringify(imported)).not.toContain("BEGIN PGP");
      expect(fs.statSync(path.join(dataDir, "master.key")).mode & 0o777).toBe(0o600);

      const shown = await runShieldJson(["key", "show"], env);
      expect(shown).toMatchObject({ fingerprint: fpr, algorithm: "EdDSA Ed25519, subkeys ECDH Curve25519", userIds: ["Team <security@example.com>"] });
      expect(Date.parse(shown.createdAt)).toBeGreaterThan(Date.now() - 3600_000);
      const human = await runShield(["key", "show"], env);
      expect(human.stdout).toContain(`Fingerprint: ${fpr}`);
      expect(human.stdout).toMatch(/Created: +\d{4}-/);
      expect(human.stdout).toContain("Algorithm:   EdDSA Ed25519, subkeys ECDH Curve25519");
    });
  });
});

describe("SHIELD_MASTER_KEY", () => {
  it("stops the command when it is not the base64 of 32 bytes, naming the variable", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-data-"));
    try {
      const result = await runShield(["key", "show"], { SHIELD_DATA_DIR: dataDir, SHIELD_MASTER_KEY: randomBytes(31).toString("base64") });
      expect(result.code).toBe(78);
      expect(result.stderr).toContain("SHIELD_MASTER_KEY=(hidden): must be the base64 of exactly 32 bytes");
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
