import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { GnuPG } from "../../../test/gnupg.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, TestBrowser, totpCodeAt } from "../../../test/sign-in.js";
import { openForm, postForm, reportFormParts, type FormPart } from "../../../test/web-forms.js";
import { systemClock } from "../../shared/clock.js";

const DESCRIPTION = "The export endpoint returns other tenants' invoices. ünïcödé ✓\nSecond line.";
const STEPS = "1. Sign in as tenant A\n2. GET /export?tenant=B";
const POC = Buffer.from("curl -s https://app.example.com/export?tenant=B\n", "utf8");

forEachDatabase((kind) => {
  describe("a report encrypted in the browser to the team key", () => {
    let shield: TestShield;
    /** Stands in for the reporter's browser: holds only the published public key. */
    let reporter: GnuPG;
    /** The team's side: holds the team secret key, exported through Shield's keyring. */
    let team: GnuPG;
    let teamFingerprint: string;

    beforeAll(async () => {
      shield = await createTestShield(kind);
      const published = await shield.app.inject({ method: "GET", url: "/security/pgp-key.asc" });
      expect(published.statusCode).toBe(200);
      reporter = GnuPG.create();
      reporter.import(published.body);
      teamFingerprint = (await shield.keyring.current()).fingerprint;
      team = GnuPG.create();
      team.import((await shield.keyring.signingKey()).armor());
    });
    afterAll(async () => {
      reporter.destroy();
      team.destroy();
      await shield.destroy();
    });

    const encryptText = (text: string) => reporter.mustRun(["--trust-model", "always", "--armor", "--encrypt", "-r", teamFingerprint], text);
    const encryptFile = (bytes: Buffer) => {
      const result = reporter.runBinary(["--trust-model", "always", "--encrypt", "-r", teamFingerprint], bytes);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout;
    };
    const submit = async (parts: FormPart[]) => postForm(shield, "/security/report", await openForm(shield, "/security/report"), parts);
    const latestReport = () => shield.database.db.selectFrom("reports").selectAll().orderBy("id", "desc").executeTakeFirstOrThrow();
    const blobPath = (sha256: string) => path.join(shield.dataDir, "blobs", sha256.slice(0, 2), sha256);

    it("keeps a clear-text field's bytes that were not UTF-8 as sent, not marked as encrypted", async () => {
      const title = Buffer.concat([Buffer.from("Invoices "), Buffer.from([0xff]), Buffer.from(" export")]);
      const response = await submit([
        { name: "encrypted", value: "1" },
        ...reportFormParts({ title: undefined, description: encryptText(DESCRIPTION) }),
        { name: "title", value: title },
        { name: "attachments", value: encryptFile(POC), filename: "poc.sh.pgp", contentType: "application/pgp-encrypted" },
      ]);
      expect(response.statusCode, response.body).toBe(303);
      const row = await latestReport();
      expect(row.title).toBe("Invoices \uFFFD export");
      const files = await shield.database.db.selectFrom("attachments").selectAll().where("report_id", "=", row.id).orderBy("id").execute();
      expect(files.map((f) => [f.filename, f.content_type, Number(f.browser_encrypted)])).toEqual([
        ["poc.sh.pgp", "application/pgp-encrypted", 1],
        ["Title as sent (not valid UTF-8).txt", "application/octet-stream", 0],
      ]);
      expect(fs.readFileSync(blobPath(files[1]!.blob_sha256)).equals(title)).toBe(true);
    });

    it("stores the ciphertext byte for byte, marked, and GnuPG decrypts it with the team's secret key", async () => {
      const description = encryptText(DESCRIPTION);
      const steps = encryptText(STEPS);
      const file = encryptFile(POC);
      const response = await submit([
        { name: "encrypted", value: "1" },
        ...reportFormParts({ title: "Cross-tenant invoice export", description, steps }),
        { name: "attachments", value: file, filename: "poc.sh.pgp", contentType: "application/pgp-encrypted" },
      ]);
      expect(response.statusCode, response.body).toBe(303);

      const row = await latestReport();
      expect(row.title).toBe("Cross-tenant invoice export");
      expect(row.description).toBe(description);
      expect(row.steps).toBe(steps);
      expect(row.impact).toBeNull();
      expect(Number(row.browser_encrypted)).toBe(1);
      expect(JSON.stringify(row)).not.toContain("tenants' invoices");

      const attachment = await shield.database.db.selectFrom("attachments").selectAll().where("report_id", "=", row.id).executeTakeFirstOrThrow();
      expect(Number(attachment.browser_encrypted)).toBe(1);
      expect(attachment.content_type).toBe("application/pgp-encrypted");
      expect(attachment.filename).toBe("poc.sh.pgp");
      const stored = fs.readFileSync(blobPath(attachment.blob_sha256));
      expect(stored.equals(file)).toBe(true);

      expect(team.mustRun(["--decrypt"], row.description)).toBe(DESCRIPTION);
      expect(team.mustRun(["--decrypt"], row.steps!)).toBe(STEPS);
      const decryptedFile = team.runBinary(["--decrypt"], stored);
      expect(decryptedFile.code, decryptedFile.stderr).toBe(0);
      expect(decryptedFile.stdout.equals(POC)).toBe(true);
    });

    it("gives the team the ciphertext and a decrypted copy, and the file decrypted on request, each audited", async () => {
      const row = await latestReport();
      const { auth } = await shield.addMember("viewer");
      const read = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${row.id}`, headers: auth });
      expect(read.statusCode).toBe(200);
      const body = read.json();
      expect(body.description).toBe(row.description);
      expect(body.encryption).toEqual({ browserEncrypted: true, decrypted: { description: DESCRIPTION, steps: STEPS, impact: null }, problem: null });

      const list = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${row.id}/attachments`, headers: auth });
      const [listed] = list.json().attachments;
      expect(listed).toMatchObject({ filename: "poc.sh.pgp", browserEncrypted: true });

      const raw = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${row.id}/attachments/${listed.id}`, headers: auth });
      expect(raw.rawPayload.subarray(0, 1)[0]! & 0x80).toBe(0x80);
      const plain = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${row.id}/attachments/${listed.id}?decrypted=1`, headers: auth });
      expect(plain.statusCode).toBe(200);
      expect(plain.rawPayload.equals(POC)).toBe(true);
      expect(plain.headers["content-type"]).toBe("application/octet-stream");
      expect(plain.headers["content-disposition"]).toContain('filename="poc.sh"');

      const events = await shield.database.db.selectFrom("audit_events").select(["action", "data"]).where("subject_id", "=", String(row.id)).orderBy("seq").execute();
      const actions = events.map((e) => e.action);
      expect(actions).toContain("report.viewed");
      expect(actions).toContain("report.decrypted");
      const downloads = events.filter((e) => e.action === "attachment.downloaded").map((e) => JSON.parse(e.data));
      expect(downloads.map((d) => d.decrypted ?? false)).toEqual([false, true]);
    });

    it("answers a change with the same view as a read, decrypted copy included (audited as a decryption, not as a read)", async () => {
      const row = await latestReport();
      const { auth } = await shield.addMember("triager");
      const viewedBefore = (await shield.database.db.selectFrom("audit_events").select("seq").where("subject_id", "=", String(row.id)).where("action", "=", "report.viewed").execute()).length;
      const patched = await shield.app.inject({ method: "PATCH", url: `/api/v1/reports/${row.id}`, headers: auth, payload: { asset: "login.example.com" } });
      expect(patched.statusCode).toBe(200);
      expect(patched.json().encryption).toEqual({ browserEncrypted: true, decrypted: { description: DESCRIPTION, steps: STEPS, impact: null }, problem: null });
      const events = await shield.database.db.selectFrom("audit_events").select("action").where("subject_id", "=", String(row.id)).orderBy("seq", "desc").limit(2).execute();
      expect(events.map((e) => e.action).sort()).toEqual(["report.decrypted", "report.triage_updated"]);
      expect((await shield.database.db.selectFrom("audit_events").select("seq").where("subject_id", "=", String(row.id)).where("action", "=", "report.viewed").execute()).length).toBe(viewedBefore);
    });

    it("shows the team the report decrypted on the desk, with the file to download decrypted or as received", async () => {
      const row = await latestReport();
      const viewer = await addEnrolledMember(shield, systemClock, "viewer");
      const browser = new TestBrowser(shield, "198.51.100.77");
      // The next time step's code (accepted within the drift window): this step's code went into the enrolment.
      const nextStep = { now: () => new Date(Date.now() + 30_000) };
      expect((await browser.signIn(viewer.member.email, viewer.password, await totpCodeAt(viewer.secret, nextStep))).statusCode).toBe(303);
      const page = await browser.get(`/desk/reports/${row.id}`);
      expect(page.statusCode).toBe(200);
      const doc = parseHtml(page.body);
      expect(doc.getElementById("encryption-notice")?.textContent).toContain("Shown decrypted with the team key");
      expect(doc.getElementById("report-description")?.textContent).toContain("The export endpoint returns other tenants' invoices. ünïcödé ✓");
      expect(doc.getElementById("report-steps")?.querySelectorAll("li")).toHaveLength(2);
      expect(page.body).not.toContain("BEGIN PGP MESSAGE");

      const links = Array.from(doc.querySelectorAll(".attachments a")).map((a) => [a.textContent, a.getAttribute("href")]);
      const attachment = await shield.database.db.selectFrom("attachments").select("id").where("report_id", "=", row.id).executeTakeFirstOrThrow();
      expect(links).toEqual([
        ["poc.sh", `/desk/reports/${row.id}/attachments/${attachment.id}?decrypted=1`],
        ["encrypted original", `/desk/reports/${row.id}/attachments/${attachment.id}`],
      ]);
      const plain = await browser.get(links[0]![1]!);
      expect(plain.statusCode).toBe(200);
      expect(plain.rawPayload.equals(POC)).toBe(true);
      expect(plain.headers["content-disposition"]).toContain('filename="poc.sh"');
      expect(plain.headers["x-content-type-options"]).toBe("nosniff");
      const original = await browser.get(links[1]![1]!);
      expect(original.rawPayload.equals(fs.readFileSync(blobPath((await shield.database.db.selectFrom("attachments").select("blob_sha256").where("id", "=", attachment.id).executeTakeFirstOrThrow()).blob_sha256)))).toBe(true);
    });

    it("refuses an 'encrypted' field that is not an OpenPGP message to the team key, next to the field, storing nothing", async () => {
      const before = (await latestReport()).id;
      const stranger = GnuPG.create();
      try {
        const strangerKey = stranger.generateKey("Stranger <stranger@example.org>");
        const toStranger = stranger.mustRun(["--trust-model", "always", "--armor", "--encrypt", "-r", strangerKey], "not for the team");
        const response = await submit([{ name: "encrypted", value: "1" }, ...reportFormParts({ description: "I forgot to encrypt this", steps: toStranger })]);
        expect(response.statusCode).toBe(400);
        const doc = parseHtml(response.body);
        expect(doc.getElementById("description-error")?.textContent).toContain("not an OpenPGP message encrypted to our team key");
        expect(doc.getElementById("steps-error")?.textContent).toContain("not an OpenPGP message encrypted to our team key");
      } finally {
        stranger.destroy();
      }
      const signedOnly = reporter.mustRun(["--armor", "--store"], "clear text in an OpenPGP wrapper");
      const wrapped = await submit([{ name: "encrypted", value: "1" }, ...reportFormParts({ description: signedOnly })]);
      expect(wrapped.statusCode).toBe(400);
      expect(parseHtml(wrapped.body).getElementById("description-error")?.textContent).toContain("not an OpenPGP message");
      expect((await latestReport()).id).toBe(before);
    });

    it("refuses a clear file in an encrypted form, and an OpenPGP file in a clear one", async () => {
      const before = (await latestReport()).id;
      const clearFile = await submit([
        { name: "encrypted", value: "1" },
        ...reportFormParts({ description: encryptText(DESCRIPTION) }),
        { name: "attachments", value: POC, filename: "poc.sh", contentType: "text/plain" },
      ]);
      expect(clearFile.statusCode).toBe(400);
      expect(parseHtml(clearFile.body).getElementById("attachments-error")?.textContent).toContain("“poc.sh” should have been encrypted in your browser");

      const pgpInClear = await submit([...reportFormParts(), { name: "attachments", value: encryptFile(POC), filename: "poc.sh.pgp" }]);
      expect(pgpInClear.statusCode).toBe(400);
      expect(parseHtml(pgpInClear.body).getElementById("attachments-error")?.textContent).toContain("poc.sh.pgp");
      expect((await latestReport()).id).toBe(before);
    });

    it("leaves a report sent in clear unmarked, with no decrypted copy in the API", async () => {
      const response = await submit(reportFormParts({ description: "Plain text report" }));
      expect(response.statusCode).toBe(303);
      const row = await latestReport();
      expect(Number(row.browser_encrypted)).toBe(0);
      const { auth } = await shield.addMember("viewer");
      const body = (await shield.app.inject({ method: "GET", url: `/api/v1/reports/${row.id}`, headers: auth })).json();
      expect(body.description).toBe("Plain text report");
      expect(body.encryption).toBeUndefined();
    });
  });
});
