import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { GnuPG } from "../../../test/gnupg.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { validateReporterKey } from "./index.js";

describe("validateReporterKey", () => {
  let gpg: GnuPG;
  beforeAll(() => {
    gpg = GnuPG.create();
  });
  afterAll(() => gpg.destroy());

  const fieldError = async (armored: string) => {
    const error = await validateReporterKey(armored).then(
      () => undefined,
      (e: { code?: string; fields?: Record<string, string> }) => e,
    );
    expect(error?.code).toBe("validation_failed");
    return error!.fields!["reporter.pgpKey"]!;
  };

  it("accepts a GnuPG public key that can encrypt and returns its fingerprint", async () => {
    const fpr = gpg.generateKey("Ada <ada@example.org>");
    expect(await validateReporterKey(gpg.exportPublic(fpr))).toEqual({ fingerprint: fpr });
  });

  it("accepts an RSA key too", async () => {
    const fpr = gpg.generateKey("Rsa <rsa@example.org>", { algo: "rsa3072", usage: "sign" });
    gpg.mustRun(["--passphrase", "", "--quick-add-key", fpr, "rsa3072", "encr", "never"]);
    expect((await validateReporterKey(gpg.exportPublic(fpr))).fingerprint).toBe(fpr);
  });

  it("refuses a private key and warns never to send one", async () => {
    const fpr = gpg.fingerprintOf("ada@example.org");
    expect(await fieldError(gpg.exportSecret(fpr))).toMatch(/PRIVATE key\. Never send your private key/);
  });

  it("refuses a key without an encryption subkey", async () => {
    const fpr = gpg.generateKey("Signer <signer@example.org>", { algo: "ed25519", usage: "sign" });
    expect(await fieldError(gpg.exportPublic(fpr))).toMatch(/no usable encryption subkey/);
  });

  it("refuses an expired key and a revoked key", async () => {
    const expired = gpg.generateKey("Old <old@example.org>", { fakedTime: "20200101T000000", expire: "1d" });
    expect(await fieldError(gpg.exportPublic(expired))).toMatch(/expired/);
    const revoked = gpg.generateKey("Gone <gone@example.org>");
    // GnuPG leaves a revocation certificate for every new key; importing it revokes the key.
    gpg.import(fs.readFileSync(path.join(gpg.home, "openpgp-revocs.d", `${revoked}.rev`), "utf8").replace(/^:-----BEGIN/m, "-----BEGIN"));
    expect(await fieldError(gpg.exportPublic(revoked))).toMatch(/revoked/);
  });

  it("refuses text that is not a key, and several keys at once", async () => {
    expect(await fieldError("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI me@laptop")).toMatch(/not an ASCII-armoured OpenPGP public key/);
    expect(await fieldError("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n<script>alert(1)</script>\n-----END PGP PUBLIC KEY BLOCK-----\n")).toMatch(
      /not an ASCII-armoured OpenPGP public key/,
    );
    const both = gpg.mustRun(["--armor", "--export", "ada@example.org", "rsa@example.org"]);
    expect(await fieldError(both)).toMatch(/several keys/);
  });
});

forEachDatabase((kind) => {
  describe("a reporter's key at intake", () => {
    let shield: TestShield;
    let gpg: GnuPG;
    beforeAll(async () => {
      shield = await createTestShield(kind);
      gpg = GnuPG.create();
    });
    afterAll(async () => {
      gpg.destroy();
      await shield.destroy();
    });

    const submit = (pgpKey: string, email = "ada@example.org") =>
      shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ reporter: { name: "Ada", email, pgpKey } }) });

    it("stores a report whose reporter gave a usable public key, with the key", async () => {
      const armored = gpg.exportPublic(gpg.generateKey("Ada <ada@example.org>"));
      const response = await submit(armored);
      expect(response.statusCode).toBe(201);
      const row = await shield.database.db.selectFrom("reports").select("reporter_pgp_key").where("id", "=", response.json().id).executeTakeFirstOrThrow();
      expect(row.reporter_pgp_key).toBe(armored);
    });

    it("answers 400 on reporter.pgpKey for a private key, and stores nothing", async () => {
      const before = await shield.database.db.selectFrom("reports").select("id").execute();
      const response = await submit(gpg.exportSecret(gpg.fingerprintOf("ada@example.org")));
      expect(response.statusCode).toBe(400);
      const { error } = response.json();
      expect(error.code).toBe("validation_failed");
      expect(Object.keys(error.fields)).toEqual(["reporter.pgpKey"]);
      expect(error.fields["reporter.pgpKey"]).toMatch(/Never send your private key/);
      expect(await shield.database.db.selectFrom("reports").select("id").execute()).toHaveLength(before.length);
      expect(await shield.database.db.selectFrom("reports").select("id").where("reporter_pgp_key", "like", "%PRIVATE%").execute()).toHaveLength(0);
    });

    it("answers 400 on reporter.pgpKey for a key that cannot encrypt", async () => {
      const response = await submit(gpg.exportPublic(gpg.generateKey("Signer <s@example.org>", { algo: "ed25519", usage: "sign" })));
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields["reporter.pgpKey"]).toMatch(/encryption subkey/);
    });

    it("treats an empty key field as no key", async () => {
      const response = await submit("  \n");
      expect(response.statusCode).toBe(201);
      const row = await shield.database.db.selectFrom("reports").select("reporter_pgp_key").where("id", "=", response.json().id).executeTakeFirstOrThrow();
      expect(row.reporter_pgp_key).toBeNull();
    });
  });
});
