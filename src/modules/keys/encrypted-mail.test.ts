import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { GnuPG } from "../../../test/gnupg.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";

interface MimePart {
  headers: Map<string, string>;
  body: string;
}

/** Just enough of RFC 5322/2045 to look at a message's structure: unfolded headers and the body. */
function parseEntity(text: string): MimePart {
  const normalized = text.replace(/\r\n/g, "\n");
  const split = normalized.indexOf("\n\n");
  const head = normalized.slice(0, split).replace(/\n[ \t]+/g, " ");
  const headers = new Map<string, string>();
  for (const line of head.split("\n")) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: normalized.slice(split + 2) };
}

function multipartChildren(entity: MimePart): MimePart[] {
  const boundary = /boundary="?([^";]+)"?/.exec(entity.headers.get("content-type") ?? "")?.[1];
  if (!boundary) throw new Error("no boundary");
  const [, ...rest] = entity.body.split(`--${boundary}`);
  return rest.filter((part) => !part.startsWith("--")).map((part) => parseEntity(part.replace(/^\n/, "")));
}

forEachDatabase((kind) => {
  describe("mail to a reporter who gave an OpenPGP key", () => {
    let shield: TestShield;
    let reporter: GnuPG;
    let reporterFingerprint: string;
    let teamFingerprint: string;
    beforeAll(async () => {
      shield = await createTestShield(kind);
      reporter = GnuPG.create();
      reporterFingerprint = reporter.generateKey("Ada Researcher <ada@example.org>");
      reporter.import((await shield.app.inject({ method: "GET", url: "/security/pgp-key.asc" })).body);
      teamFingerprint = (await shield.keyring.current()).fingerprint;
    });
    afterAll(async () => {
      reporter.destroy();
      await shield.destroy();
    });

    const outboxFile = (prefix: string) => {
      const dir = path.join(shield.dataDir, "outbox");
      const name = fs.readdirSync(dir).find((f) => f.startsWith(prefix));
      return name && fs.readFileSync(path.join(dir, name), "utf8");
    };

    /** Checks the RFC 3156 structure and returns what GnuPG says about the encrypted part. */
    function openPgpMime(eml: string): { outer: MimePart; decrypted: string; status: string } {
      const outer = parseEntity(eml);
      expect(outer.headers.get("content-type")).toMatch(/^multipart\/encrypted; protocol="application\/pgp-encrypted"; boundary=/);
      const parts = multipartChildren(outer);
      expect(parts).toHaveLength(2);
      expect(parts[0]!.headers.get("content-type")).toBe("application/pgp-encrypted");
      expect(parts[0]!.body.trim()).toBe("Version: 1");
      expect(parts[1]!.headers.get("content-type")).toMatch(/^application\/octet-stream/);
      expect(parts[1]!.body).toMatch(/^-----BEGIN PGP MESSAGE-----\n/);
      const result = reporter.run(["--status-fd", "2", "--decrypt"], parts[1]!.body);
      expect(result.code, result.stderr).toBe(0);
      return { outer, decrypted: result.stdout, status: result.stderr };
    }

    it("sends the receipt as PGP/MIME that the reporter's GnuPG decrypts, signed by the team key", async () => {
      const input = buildReportInput({ title: "SSRF in the avatar fetcher", reporter: { name: "Ada Researcher", email: "ada@example.org", pgpKey: reporter.exportPublic(reporterFingerprint) } });
      const submitted = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: input });
      expect(submitted.statusCode).toBe(201);
      const { id, trackingUrl } = submitted.json();
      await shield.worker.drain();

      const eml = outboxFile(`receipt-${id}-`)!;
      expect(eml).toBeDefined();
      const { outer, decrypted, status } = openPgpMime(eml);
      expect(outer.headers.get("subject")).toBe(`Encrypted message about your report #${id}`);
      expect(outer.headers.get("to")).toBe("ada@example.org");
      expect(outer.headers.get("auto-submitted")).toBe("auto-replied");
      expect(eml).not.toContain("SSRF");
      expect(eml).not.toContain(trackingUrl.split("/").pop());

      expect(status).toContain("DECRYPTION_OKAY");
      expect(status).toContain(`ENC_TO ${reporter.mustRun(["--with-colons", "--list-keys", reporterFingerprint]).match(/^sub:[^:]*:[^:]*:[^:]*:([0-9A-F]{16}):/m)![1]}`);
      expect(status).toMatch(new RegExp(`VALIDSIG ${teamFingerprint} `));
      expect(status).toContain("GOODSIG");

      const inner = parseEntity(decrypted);
      expect(inner.headers.get("content-type")).toMatch(/^text\/plain; charset=utf-8; protected-headers="?v1"?/);
      expect(inner.headers.get("subject")).toBe(`[#${id}] We received your report: SSRF in the avatar fetcher`);
      const text = inner.body.replace(/=\n/g, "");
      expect(text).toContain(trackingUrl);
      expect(text).toContain("Hello Ada Researcher,");
    });

    it("encrypts the update mail when the team answers, too", async () => {
      const input = buildReportInput({ reporter: { name: "Ada Researcher", email: "ada@example.org", pgpKey: reporter.exportPublic(reporterFingerprint) } });
      const { id } = (await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: input })).json();
      const triager = await shield.addMember("triager");
      const moved = await shield.app.inject({
        method: "POST",
        url: `/api/v1/reports/${id}/transitions`,
        headers: triager.auth,
        payload: { to: "acknowledged", reason: "Seen.", message: "We reproduced it; the fix is on its way." },
      });
      expect(moved.statusCode).toBe(200);
      await shield.worker.drain();

      const eml = outboxFile(`update-${id}-`)!;
      expect(eml).toBeDefined();
      expect(eml).not.toContain("reproduced");
      const { outer, decrypted, status } = openPgpMime(eml);
      expect(outer.headers.get("subject")).toBe(`Encrypted message about your report #${id}`);
      expect(status).toMatch(new RegExp(`VALIDSIG ${teamFingerprint} `));
      const inner = parseEntity(decrypted);
      expect(inner.headers.get("subject")).toMatch(new RegExp(`^\\[#${id}\\] Update on your report: `));
      expect(inner.body.replace(/=\n/g, "")).toContain("We reproduced it; the fix is on its way.");
    });

    it("still writes in the clear to a reporter who gave no key", async () => {
      const { id } = (await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ title: "Plain report" }) })).json();
      await shield.worker.drain();
      const eml = outboxFile(`receipt-${id}-`)!;
      expect(parseEntity(eml).headers.get("content-type")).toMatch(/^text\/plain/);
      expect(eml).toContain("Plain report");
    });

    it("never falls back to clear text when the stored key cannot be encrypted to", async () => {
      const input = buildReportInput({ title: "Secret finding", reporter: { name: "Ada Researcher", email: "ada@example.org", pgpKey: reporter.exportPublic(reporterFingerprint) } });
      const { id } = (await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: input })).json();
      const signOnly = reporter.generateKey("Sign Only <sign@example.org>", { algo: "ed25519", usage: "sign" });
      await shield.database.db.updateTable("reports").set({ reporter_pgp_key: reporter.exportPublic(signOnly) }).where("id", "=", id).execute();
      await shield.worker.drain();
      expect(outboxFile(`receipt-${id}-`)).toBeUndefined();
      const job = (await shield.database.db.selectFrom("jobs").selectAll().where("kind", "=", "mail.receipt").execute()).find((j) => JSON.parse(j.payload).reportId === id)!;
      expect(job.state).toBe("pending");
      expect(job.last_error).toMatch(/encrypt/);
    });
  });
});
