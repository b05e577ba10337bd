import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DAY, FakeClock, HOUR } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { GnuPG } from "../../../test/gnupg.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";

const BASE = "https://security.example.test";

/** The fields of a cleartext-signed security.txt, from its signed body. */
function fieldsOf(signed: string): Map<string, string[]> {
  const body = signed.split(/\r?\n\r?\n/).slice(1).join("\n\n").split("-----BEGIN PGP SIGNATURE-----")[0]!;
  const fields = new Map<string, string[]>();
  for (const line of body.split(/\r?\n/)) {
    const match = /^([A-Za-z-]+): (.+)$/.exec(line);
    if (match) fields.set(match[1]!, [...(fields.get(match[1]!) ?? []), match[2]!]);
  }
  return fields;
}

forEachDatabase((kind) => {
  describe("the published team key and security.txt", () => {
    let shield: TestShield;
    let gpg: GnuPG;
    const clock = new FakeClock(new Date());

    beforeAll(async () => {
      shield = await createTestShield(kind, { clock });
      gpg = GnuPG.create();
    });
    afterAll(async () => {
      gpg.destroy();
      await shield.destroy();
    });

    it("serves the team's public key as application/pgp-keys that GnuPG imports", async () => {
      const response = await shield.app.inject({ method: "GET", url: "/security/pgp-key.asc" });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toMatch(/^application\/pgp-keys/);
      expect(response.body).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
      expect(response.body).not.toContain("PRIVATE");
      gpg.import(response.body);
      const { fingerprint } = await shield.keyring.current();
      const listing = gpg.mustRun(["--with-colons", "--list-keys", fingerprint]);
      expect(listing).toMatch(/uid:[^\n]*Security Response <security@example\.com>/);
    });

    it("publishes a security.txt with every RFC 9116 field, signed by the team key", async () => {
      const response = await shield.app.inject({ method: "GET", url: "/.well-known/security.txt" });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(response.body).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\r?\nHash: SHA\d+\r?\n/);
      const fields = fieldsOf(response.body);
      expect(fields.get("Contact")).toEqual(["mailto:security@example.com", `${BASE}/security/report`]);
      expect(fields.get("Encryption")).toEqual([`${BASE}/security/pgp-key.asc`]);
      expect(fields.get("Acknowledgments")).toEqual([`${BASE}/security/thanks`]);
      expect(fields.get("Policy")).toEqual([`${BASE}/security`]);
      expect(fields.get("Canonical")).toEqual([`${BASE}/.well-known/security.txt`]);
      expect(fields.get("Preferred-Languages")).toEqual(["en"]);
      const [expires] = fields.get("Expires")!;
      expect(expires).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const ahead = Date.parse(expires!) - clock.now().getTime();
      expect(ahead).toBeGreaterThan(179 * DAY);
      expect(ahead).toBeLessThanOrEqual(180 * DAY);
      expect(ahead).toBeLessThan(365 * DAY);
    });

    it("passes gpg --verify with a good signature from the published key, and a tampered copy fails", async () => {
      gpg.import((await shield.app.inject({ method: "GET", url: "/security/pgp-key.asc" })).body);
      const { fingerprint } = await shield.keyring.current();
      const signed = (await shield.app.inject({ method: "GET", url: "/.well-known/security.txt" })).body;

      const good = gpg.run(["--status-fd", "1", "--verify"], signed);
      expect(good.code, good.stderr).toBe(0);
      expect(good.stderr).toContain("Good signature");
      expect(good.stdout).toContain(`VALIDSIG ${fingerprint}`);

      const tampered = signed.replace("mailto:security@example.com", "mailto:attacker@example.net");
      expect(tampered).not.toBe(signed);
      const bad = gpg.run(["--status-fd", "1", "--verify"], tampered);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("BAD signature");
    });

    it("verifies with Sequoia too", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-sqop-"));
      try {
        const cert = path.join(dir, "team.asc");
        fs.writeFileSync(cert, (await shield.app.inject({ method: "GET", url: "/security/pgp-key.asc" })).body);
        const signed = (await shield.app.inject({ method: "GET", url: "/.well-known/security.txt" })).body;
        const result = spawnSync("sqop", ["inline-verify", cert], { input: signed, encoding: "utf8" });
        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout).toContain("Contact: mailto:security@example.com");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("serves the same signed copy for an hour, then signs a fresh one with a later Expires", async () => {
      const first = (await shield.app.inject({ method: "GET", url: "/.well-known/security.txt" })).body;
      clock.advance(30 * 60_000);
      expect((await shield.app.inject({ method: "GET", url: "/.well-known/security.txt" })).body).toBe(first);
      clock.advance(31 * 60_000);
      const later = (await shield.app.inject({ method: "GET", url: "/.well-known/security.txt" })).body;
      expect(later).not.toBe(first);
      const expiresFirst = Date.parse(fieldsOf(first).get("Expires")![0]!);
      const expiresLater = Date.parse(fieldsOf(later).get("Expires")![0]!);
      expect(expiresLater - expiresFirst).toBeGreaterThanOrEqual(HOUR - 1000);
      expect(Date.parse(fieldsOf(later).get("Expires")![0]!) - clock.now().getTime()).toBeLessThanOrEqual(180 * DAY);
    });

    it("re-signs at once when the security contact changes", async () => {
      const before = (await shield.app.inject({ method: "GET", url: "/.well-known/security.txt" })).body;
      await shield.database.db
        .insertInto("settings")
        .values({ key: "securityEmail", value: JSON.stringify("psirt@example.com"), updated_at: new Date().toISOString() })
        .onConflict((oc) => oc.column("key").doUpdateSet({ value: JSON.stringify("psirt@example.com") }))
        .execute();
      shield.settings.invalidate();
      const after = (await shield.app.inject({ method: "GET", url: "/.well-known/security.txt" })).body;
      expect(fieldsOf(before).get("Contact")![0]).toBe("mailto:security@example.com");
      expect(fieldsOf(after).get("Contact")![0]).toBe("mailto:psirt@example.com");
    });

    it("redirects /security.txt to the RFC location", async () => {
      const response = await shield.app.inject({ method: "GET", url: "/security.txt" });
      expect(response.statusCode).toBe(301);
      expect(response.headers.location).toBe("/.well-known/security.txt");
    });
  });
});
