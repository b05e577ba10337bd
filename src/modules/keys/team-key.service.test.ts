import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase, withTestAuditKey, type TestDatabase } from "../../../test/databases.js";
import { GnuPG } from "../../../test/gnupg.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { migrateToLatest, openDatabase, type Database } from "../../platform/db/database.js";
import { loadMasterKey, MasterKey } from "../../platform/crypto/master-key.js";
import { systemClock } from "../../shared/clock.js";
import { DomainError } from "../../shared/errors.js";
import { decryptBinaryForTeam, decryptForTeam, ensureTeamKey, importTeamKey, MasterKeyMismatchError, prepareTeamKeyring, TeamKeyring } from "./index.js";
import { SettingsReader } from "../settings/index.js";

const cli = { kind: "cli" } as const;

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

forEachDatabase((kind) => {
  describe("the team key on first start", () => {
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

    it("is a v4 Ed25519/Cv25519 key named after the program, which GnuPG 2.2 reads", async () => {
      const key = await shield.keyring.current();
      expect(key.source).toBe("generated");
      expect(key.userIds).toEqual(["Security Response <security@example.com>"]);
      expect(key.algorithm).toBe("EdDSA Ed25519, subkeys ECDH Curve25519");
      gpg.import(key.publicKey);
      const colons = gpg.mustRun(["--with-colons", "--list-keys", key.fingerprint]);
      expect(colons).toMatch(/^pub:[^:]*:255:22:[^\n]*:scESC:[^\n]*:ed25519:/m);
      expect(colons).toMatch(/^sub:[^:]*:255:18:[^\n]*:e:[^\n]*:cv25519:/m);
      expect(colons).toContain(`fpr:::::::::${key.fingerprint}:`);
      const packets = gpg.mustRun(["--list-packets"], key.publicKey);
      expect(packets).toMatch(/:public key packet:\n\s+version 4,/);
      expect(packets).not.toMatch(/version [56],/);
    });

    it("is recorded in the audit log", async () => {
      const { fingerprint } = await shield.keyring.current();
      const events = await shield.database.db.selectFrom("audit_events").selectAll().where("action", "=", "team_key.generated").execute();
      expect(events.map((e) => e.subject_id)).toEqual([fingerprint]);
    });

    it("keeps the private half only sealed under the master key", async () => {
      const rows = await shield.database.db.selectFrom("team_keys").selectAll().execute();
      expect(rows).toHaveLength(1);
      const stored = JSON.stringify(rows);
      expect(stored).not.toContain("PRIVATE KEY");
      const secretBody = (await shield.keyring.signingKey()).armor().split("\n").filter((l) => l.length > 40)[2]!;
      expect(stored).not.toContain(secretBody);
      expect(rows[0]!.sealed_private_key).toMatch(/^v1\./);
      expect(fs.statSync(path.join(shield.dataDir, "master.key")).mode & 0o777).toBe(0o600);
    });

    it("is the same key after a restart", async () => {
      const before = await shield.keyring.current();
      const again = openDatabase(shield.testDatabase.target);
      try {
        const keyring = await prepareTeamKeyring({ db: again.db, clock: systemClock, settings: new SettingsReader(again.db), dataDir: shield.dataDir });
        expect((await keyring.current()).fingerprint).toBe(before.fingerprint);
        expect(await again.db.selectFrom("team_keys").select("id").execute()).toHaveLength(1);
      } finally {
        await again.close();
      }
    });

    it("stops start-up with another master key, saying that processes must share it", async () => {
      const again = openDatabase(shield.testDatabase.target);
      try {
        const error = await prepareTeamKeyring({ db: again.db, clock: systemClock, settings: new SettingsReader(again.db), dataDir: shield.dataDir, masterKeyBase64: randomBytes(32).toString("base64") }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MasterKeyMismatchError);
        expect((error as Error).message).toMatch(/was stored under master key [0-9a-f]{16}, but this process has master key [0-9a-f]{16} \(from SHIELD_MASTER_KEY\)/);
      } finally {
        await again.close();
      }
    });
  });

  describe("creating the team key from two processes at once", () => {
    let testDatabase: TestDatabase;
    const handles: Database[] = [];
    beforeAll(async () => {
      testDatabase = await createTestDatabase(kind);
      const first = openDatabase(testDatabase.target);
      handles.push(first, openDatabase(testDatabase.target));
      await migrateToLatest(first);
    });
    afterAll(async () => {
      for (const handle of handles) await handle.close();
      await testDatabase.drop();
    });

    it("stores one key, and both processes use it", async () => {
      const masterKey = new MasterKey(randomBytes(32), "environment");
      const keyed: Database[] = [];
      for (const handle of handles) keyed.push(await withTestAuditKey(handle, masterKey));
      const results = await Promise.all(keyed.map((handle) => ensureTeamKey({ db: handle.db, masterKey, clock: systemClock, settings: new SettingsReader(handle.db) })));
      expect(results[0]!.key.fingerprint).toBe(results[1]!.key.fingerprint);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const db = handles[0]!.db;
      expect(await db.selectFrom("team_keys").select("fingerprint").execute()).toEqual([{ fingerprint: results[0]!.key.fingerprint }]);
      expect(await db.selectFrom("audit_events").select("action").where("action", "=", "team_key.generated").execute()).toHaveLength(1);
    });
  });

  describe("importing a team key", () => {
    let testDatabase: TestDatabase;
    let database: Database;
    let gpg: GnuPG;
    let keyring: TeamKeyring;
    const masterKey = new MasterKey(randomBytes(32), "environment");
    const deps = () => ({ db: database.db, masterKey, clock: systemClock });
    let generatedFingerprint: string;
    beforeAll(async () => {
      testDatabase = await createTestDatabase(kind);
      database = openDatabase(testDatabase.target);
      await migrateToLatest(database);
      database = await withTestAuditKey(database, masterKey);
      generatedFingerprint = (await ensureTeamKey({ ...deps(), settings: new SettingsReader(database.db) })).key.fingerprint;
      keyring = new TeamKeyring(database.db, masterKey, 0);
      gpg = GnuPG.create();
    });
    afterAll(async () => {
      gpg.destroy();
      await database.close();
      await testDatabase.drop();
    });

    it("refuses a public key, saying the private key is needed", async () => {
      const fpr = gpg.generateKey("Public Only <public@example.com>");
      const error = await refusal(importTeamKey(deps(), cli, gpg.exportPublic(fpr)));
      expect(error.code).toBe("team_key_refused");
      expect(error.message).toMatch(/This is a public key\. Import the private key/);
    });

    it("refuses a key that cannot encrypt", async () => {
      const fpr = gpg.generateKey("Sign Only <sign@example.com>", { algo: "ed25519", usage: "sign" });
      expect((await refusal(importTeamKey(deps(), cli, gpg.exportSecret(fpr)))).message).toMatch(/cannot encrypt/);
    });

    it("refuses a key that cannot sign", async () => {
      const fpr = gpg.generateKey("Certify Only <cert@example.com>", { algo: "ed25519", usage: "cert" });
      gpg.mustRun(["--passphrase", "", "--quick-add-key", fpr, "cv25519", "encr", "never"]);
      expect((await refusal(importTeamKey(deps(), cli, gpg.exportSecret(fpr)))).message).toMatch(/cannot sign/);
    });

    it("refuses an expired key", async () => {
      const fpr = gpg.generateKey("Expired <expired@example.com>", { fakedTime: "20200101T000000", expire: "1d" });
      expect((await refusal(importTeamKey(deps(), cli, gpg.exportSecret(fpr)))).message).toMatch(/has expired/);
    });

    it("refuses a revoked key", async () => {
      const fpr = gpg.generateKey("Revoked <revoked@example.com>");
      const certificate = fs.readFileSync(path.join(gpg.home, "openpgp-revocs.d", `${fpr}.rev`), "utf8").replace(/^:-----BEGIN/m, "-----BEGIN");
      gpg.import(certificate);
      expect((await refusal(importTeamKey(deps(), cli, gpg.exportSecret(fpr)))).message).toMatch(/revoked/);
    });

    it("refuses text that is no key, and a file with several keys", async () => {
      expect((await refusal(importTeamKey(deps(), cli, "hello"))).message).toMatch(/not an ASCII-armoured OpenPGP private key/);
      const a = gpg.generateKey("Several A <a@example.com>");
      const b = gpg.generateKey("Several B <b@example.com>");
      const both = gpg.mustRun(["--passphrase", "", "--armor", "--export-secret-keys", a, b]);
      expect((await refusal(importTeamKey(deps(), cli, both))).message).toMatch(/several keys/);
    });

    it("asks for the passphrase of a protected key and refuses a wrong one", async () => {
      const fpr = gpg.generateKey("Team <team@example.com>", { passphrase: "correct horse" });
      const armored = gpg.exportSecret(fpr, "correct horse");
      expect((await refusal(importTeamKey(deps(), cli, armored))).message).toBe("The key is protected by a passphrase: give it with --passphrase-file FILE.");
      expect((await refusal(importTeamKey(deps(), cli, armored, "wrong"))).message).toBe("The passphrase does not unlock this key.");
      expect((await keyring.current()).fingerprint).toBe(generatedFingerprint);
    });

    it("makes a protected key the team key with its passphrase, keeping the old one to decrypt", async () => {
      const fpr = gpg.fingerprintOf("team@example.com");
      const result = await importTeamKey(deps(), cli, gpg.exportSecret(fpr, "correct horse"), "correct horse");
      expect(result).toMatchObject({ unchanged: false, key: { fingerprint: fpr, source: "imported" }, replaced: { fingerprint: generatedFingerprint } });
      expect((await keyring.current()).fingerprint).toBe(fpr);
      expect((await keyring.signingKey()).isDecrypted()).toBe(true);
      const stored = JSON.stringify(await database.db.selectFrom("team_keys").selectAll().execute());
      expect(stored).not.toContain("PRIVATE KEY");
      const events = await database.db.selectFrom("audit_events").selectAll().where("action", "=", "team_key.imported").execute();
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0]!.data)).toMatchObject({ replaced: generatedFingerprint });
      expect(events[0]!.actor).toBe("cli");
    });

    it("says so when the key is the team key already", async () => {
      const fpr = gpg.fingerprintOf("team@example.com");
      const result = await importTeamKey(deps(), cli, gpg.exportSecret(fpr, "correct horse"), "correct horse");
      expect(result.unchanged).toBe(true);
      expect(await database.db.selectFrom("team_keys").select("id").execute()).toHaveLength(2);
    });

    it("decrypts text that GnuPG encrypted to the published team key", async () => {
      const recipient = GnuPG.create();
      try {
        recipient.import((await keyring.current()).publicKey);
        const secret = "The admin panel accepts any password for user 0. ünïcödé ✓\n";
        const armored = recipient.mustRun(["--trust-model", "always", "--armor", "--encrypt", "-r", (await keyring.current()).fingerprint], secret);
        expect(armored).toMatch(/^-----BEGIN PGP MESSAGE-----/);
        expect(await decryptForTeam(keyring, armored)).toBe(secret);
      } finally {
        recipient.destroy();
      }
    });

    it("decrypts bytes that GnuPG encrypted to the team, binary or armoured, also to a replaced key", async () => {
      const recipient = GnuPG.create();
      try {
        const oldKey = (await database.db.selectFrom("team_keys").select("public_key").where("fingerprint", "=", generatedFingerprint).executeTakeFirstOrThrow()).public_key;
        recipient.import(oldKey);
        const bytes = randomBytes(5000);
        const binary = recipient.runBinary(["--trust-model", "always", "--encrypt", "-r", generatedFingerprint], bytes);
        expect(binary.code, binary.stderr).toBe(0);
        expect(Buffer.from(await decryptBinaryForTeam(keyring, new Uint8Array(binary.stdout))).equals(bytes)).toBe(true);
        const armored = recipient.mustRun(["--trust-model", "always", "--armor", "--encrypt", "-r", generatedFingerprint], bytes);
        expect(Buffer.from(await keyring.decryptBinaryForTeam(armored)).equals(bytes)).toBe(true);
      } finally {
        recipient.destroy();
      }
    });

    it("refuses messages that are not OpenPGP, not for the team, altered, or too large", async () => {
      expect((await refusal(keyring.decryptForTeam("hello"))).message).toBe("This is not an OpenPGP message.");
      const stranger = gpg.generateKey("Stranger <stranger@example.com>");
      const toStranger = gpg.mustRun(["--trust-model", "always", "--armor", "--encrypt", "-r", stranger], "not for you");
      const notOurs = await refusal(keyring.decryptForTeam(toStranger));
      expect(notOurs.code).toBe("undecryptable_message");
      expect(notOurs.message).toMatch(/not encrypted to the team key/);

      gpg.import((await keyring.current()).publicKey);
      const team = (await keyring.current()).fingerprint;
      const binary = gpg.runBinary(["--trust-model", "always", "--compress-level", "0", "--encrypt", "-r", team], "x".repeat(4000)).stdout;
      const altered = Buffer.from(binary);
      altered[altered.length - 30]! ^= 0xff;
      expect((await refusal(keyring.decryptBinaryForTeam(new Uint8Array(altered)))).code).toBe("undecryptable_message");

      const bomb = gpg.runBinary(["--trust-model", "always", "--compress-level", "9", "--encrypt", "-r", team], Buffer.alloc(200_000)).stdout;
      expect(bomb.length).toBeLessThan(5000);
      const tooLarge = await refusal(keyring.decryptBinaryForTeam(new Uint8Array(bomb), 100_000));
      expect(tooLarge.code).toBe("message_too_large");
    });
  });
});

describe("the team key in a data directory", () => {
  it("uses master.key from the data directory across restarts of one installation", async () => {
    const testDatabase = await createTestDatabase("sqlite");
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-data-"));
    try {
      const fingerprints: string[] = [];
      for (let i = 0; i < 2; i++) {
        const opened = openDatabase(testDatabase.target);
        await migrateToLatest(opened);
        const database = await withTestAuditKey(opened, await loadMasterKey({ dataDir }));
        const keyring = await prepareTeamKeyring({ db: database.db, clock: systemClock, settings: new SettingsReader(database.db), dataDir });
        fingerprints.push((await keyring.current()).fingerprint);
        await (await keyring.signingKey()).armor();
        await database.close();
      }
      expect(fingerprints[0]).toBe(fingerprints[1]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
      await testDatabase.drop();
    }
  });
});
