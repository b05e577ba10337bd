import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { ELF, EXE, PDF, PNG, UNKNOWN } from "../../../test/attachment-fixtures.js";
import { cookiesFrom, multipart, openForm, postForm, reportFormParts, type FormPart } from "../../../test/web-forms.js";
import { BlobStore } from "../../platform/blobs/blob-store.js";
import { hashSecret } from "../../platform/crypto/secrets.js";
import { NOT_UTF8_AGAIN } from "./multipart-form.js";
import { updateSetting } from "../../modules/settings/index.js";
import { systemClock } from "../../shared/clock.js";

/** Reports, attachments and jobs in the database: "nothing stored" means these did not move. */
async function counts(shield: TestShield) {
  const db = shield.database.db;
  const count = async (table: "reports" | "attachments" | "jobs") => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n);
  return { reports: await count("reports"), attachments: await count("attachments"), jobs: await count("jobs") };
}

function stagedFiles(shield: TestShield): string[] {
  const dir = path.join(shield.dataDir, "blobs", ".staging");
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

forEachDatabase((kind) => {
  describe("the report form /security/report", () => {
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind);
    });
    afterAll(async () => shield.destroy());

    const submit = async (parts: FormPart[]) => postForm(shield, "/security/report", await openForm(shield, "/security/report"), parts);
    const confirmationOf = async (response: { headers: Record<string, unknown> }) =>
      shield.app.inject({ method: "GET", url: "/security/report/received", headers: { cookie: cookiesFrom(response.headers["set-cookie"] as string[]) } });

    it("offers the four channels with their promised first-response times and the support contact", async () => {
      const page = await shield.app.inject({ method: "GET", url: "/security/report" });
      expect(page.statusCode).toBe(200);
      const doc = parseHtml(page.body);
      const hint = (channel: string) => doc.getElementById(`channel-${channel}-hint`)?.textContent ?? "";
      expect(doc.querySelector('label[for="channel-account_attack"]')?.textContent).toBe("Account under attack");
      expect(hint("account_attack")).toContain("within 2 hours, day and night");
      expect(hint("vulnerability")).toContain("within 72 hours");
      expect(hint("sensitive")).toContain("within 24 hours");
      expect(hint("support")).toContain("support@example.com");
      expect(doc.querySelectorAll('input[name="channel"]')).toHaveLength(4);
      expect(page.headers["set-cookie"]).toBeDefined();
      for (const id of ["title", "description", "steps", "impact", "assetOther", "attachments", "reporterName", "reporterEmail", "reporterPgpKey", "creditName", "creditUrl", "creditAnonymous"]) {
        expect(doc.querySelector(`label[for="${id}"]`), id).not.toBeNull();
      }
    });

    it("stores the report with source web and redirects to a one-time confirmation with the tracking link", async () => {
      const response = await submit(reportFormParts({ channel: "sensitive", title: "Leaked API keys" }));
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe("/security/report/received");
      expect(response.headers["cache-control"]).toBe("no-store");

      const confirmation = await confirmationOf(response);
      expect(confirmation.statusCode).toBe(200);
      expect(confirmation.headers["cache-control"]).toBe("no-store");
      const doc = parseHtml(confirmation.body);
      const link = doc.querySelector("a.tracking-link")?.getAttribute("href") ?? "";
      expect(link).toMatch(/^https:\/\/security\.example\.test\/security\/reports\/[A-Za-z0-9_-]{43}$/);
      expect(doc.body.textContent).toContain("within 24 hours");
      expect(response.headers.location).not.toContain(link.split("/").pop());

      const report = await shield.database.db.selectFrom("reports").selectAll().where("tracking_hash", "=", hashSecret(link.split("/").pop()!)).executeTakeFirstOrThrow();
      expect(report).toMatchObject({ title: "Leaked API keys", source: "web", channel: "sensitive", state: "new" });
      const jobs = await shield.database.db.selectFrom("jobs").selectAll().where("kind", "=", "mail.receipt").execute();
      expect(jobs.some((j) => JSON.parse(j.payload).reportId === report.id)).toBe(true);

      const again = await confirmationOf(response);
      expect(again.statusCode).toBe(404);
      expect(again.body).not.toContain(link);
    });

    it("shows nothing on the confirmation page without the cookie", async () => {
      const page = await shield.app.inject({ method: "GET", url: "/security/report/received" });
      expect(page.statusCode).toBe(404);
      expect(page.body).toContain("shown only once");
    });

    it("creates nothing for a non-urgent request and points to the support contact", async () => {
      const before = await counts(shield);
      const response = await submit(reportFormParts({ channel: "support", title: "", description: "" }).concat({ name: "attachments", value: PNG, filename: "shot.png" }));
      expect(response.statusCode).toBe(200);
      expect(parseHtml(response.body).querySelector("main a[href='mailto:support@example.com']")).not.toBeNull();
      expect(await counts(shield)).toEqual(before);
      expect(stagedFiles(shield)).toEqual([]);
    });

    it("names every invalid field next to it, lists them at the top and keeps every input", async () => {
      const before = await counts(shield);
      const response = await submit(
        reportFormParts({
          channel: undefined,
          title: "",
          description: "  ",
          steps: "keep these steps\n1. open",
          reporterName: "",
          reporterEmail: "not-mail",
          creditUrl: "javascript:alert(1)",
          impact: `a\u0000b`,
        }),
      );
      expect(response.statusCode).toBe(400);
      const doc = parseHtml(response.body);
      const errorOf = (field: string) => {
        const input = doc.getElementById(field)!;
        expect(input.getAttribute("aria-invalid"), field).toBe("true");
        expect(input.getAttribute("aria-describedby")?.split(" "), field).toContain(`${field}-error`);
        return doc.getElementById(`${field}-error`)?.textContent;
      };
      expect(errorOf("title")).toBe("is required");
      expect(errorOf("description")).toBe("is required");
      expect(errorOf("reporterName")).toBe("is required");
      expect(errorOf("reporterEmail")).toBe("must be an e-mail address");
      expect(errorOf("creditUrl")).toBe("must be an http(s) URL");
      expect(errorOf("impact")).toMatch(/NUL/);
      expect(doc.getElementById("channel-error")?.textContent).toBe("choose what kind of report this is");
      expect(doc.getElementById("channel-vulnerability")?.getAttribute("aria-invalid")).toBe("true");

      const summary = Array.from(doc.querySelectorAll("#error-summary li a")).map((a) => a.getAttribute("href"));
      expect(summary).toEqual(["#channel-account_attack", "#title", "#description", "#impact", "#reporterName", "#reporterEmail", "#creditUrl"]);
      expect((doc.getElementById("steps") as HTMLTextAreaElement).value).toBe("keep these steps\n1. open");
      expect((doc.getElementById("reporterEmail") as HTMLInputElement).value).toBe("not-mail");
      expect((doc.getElementById("creditUrl") as HTMLInputElement).value).toBe("javascript:alert(1)");
      expect(await counts(shield)).toEqual(before);
    });

    it("applies the API's length limits to the form", async () => {
      const response = await submit(reportFormParts({ title: "x".repeat(201) }));
      expect(response.statusCode).toBe(400);
      expect(parseHtml(response.body).getElementById("title-error")?.textContent).toBe("must be at most 200 characters");
    });

    it("refuses an OpenPGP key it cannot use, next to the key field", async () => {
      const response = await submit(reportFormParts({ reporterPgpKey: "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----" }));
      expect(response.statusCode).toBe(400);
      const doc = parseHtml(response.body);
      expect(doc.getElementById("reporterPgpKey")?.getAttribute("aria-invalid")).toBe("true");
      expect(doc.getElementById("reporterPgpKey-error")?.textContent?.length).toBeGreaterThan(5);
    });

    it("stores a report whose text is not valid UTF-8, keeping the bytes as sent in a file, and says so", async () => {
      const session = await openForm(shield, "/security/report");
      const description = Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a, 0xc3, 0x28]);
      const title = Buffer.concat([Buffer.from("Broken "), Buffer.from([0xe2, 0x82]), Buffer.from(" bytes")]);
      const parts = reportFormParts({ description: undefined, title: undefined, reporterName: "Zoë" });
      const response = await postForm(shield, "/security/report", session, [...parts, { name: "title", value: title }, { name: "description", value: description }]);
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe("/security/report/received");

      const confirmation = await shield.app.inject({ method: "GET", url: response.headers.location as string, headers: { cookie: cookiesFrom(response.headers["set-cookie"] as string[]) } });
      const doc = parseHtml(confirmation.body);
      expect(doc.getElementById("as-sent")?.textContent).toContain("Part of what you sent was not valid UTF-8 text (title, description)");
      const token = doc.querySelector("a.tracking-link")!.getAttribute("href")!.split("/").pop()!;
      const row = await shield.database.db.selectFrom("reports").selectAll().where("tracking_hash", "=", hashSecret(token)).executeTakeFirstOrThrow();
      // The text as it can be stored: U+FFFD where bytes could not be read.
      expect(row.description).toBe("a\uFFFD\uFFFDb\n\uFFFD(");
      expect(row.title).toBe("Broken \uFFFD bytes");
      expect(row.reporter_name).toBe("Zoë");
      // The bytes as sent, each field in a file of its own, downloaded only.
      const files = await shield.database.db.selectFrom("attachments").selectAll().where("report_id", "=", row.id).orderBy("id").execute();
      expect(files.map((f) => [f.filename, f.content_type])).toEqual([
        ["Title as sent (not valid UTF-8).txt", "application/octet-stream"],
        ["Description as sent (not valid UTF-8).txt", "application/octet-stream"],
      ]);
      const bytesOf = (sha: string) => fs.readFileSync(path.join(shield.dataDir, "blobs", sha.slice(0, 2), sha));
      expect(bytesOf(files[0]!.blob_sha256).equals(title)).toBe(true);
      expect(bytesOf(files[1]!.blob_sha256).equals(description)).toBe(true);
      expect(stagedFiles(shield)).toEqual([]);
    });

    it("keeps nothing of a refused form's bytes, and says next to the field that they were not UTF-8", async () => {
      const before = await counts(shield);
      const session = await openForm(shield, "/security/report");
      const response = await postForm(shield, "/security/report", session, [
        ...reportFormParts({ description: undefined, reporterEmail: "not an address" }),
        { name: "description", value: Buffer.from([0x61, 0xff, 0x62]) },
      ]);
      expect(response.statusCode).toBe(400);
      const doc = parseHtml(response.body);
      expect(doc.getElementById("description-error")?.textContent).toBe(NOT_UTF8_AGAIN);
      expect((doc.getElementById("description") as HTMLTextAreaElement).value).toBe("a\uFFFDb");
      expect(doc.getElementById("reporterEmail-error")?.textContent).toBe("must be an e-mail address");
      expect(await counts(shield)).toEqual(before);
      expect(stagedFiles(shield)).toEqual([]);
    });

    it("reads a text part that declares its own charset as that charset, and refuses it when its bytes do not fit", async () => {
      await updateSetting(shield.settings, systemClock, { kind: "cli" }, "assets", ["www.example.com"]);
      const session = await openForm(shield, "/security/report");
      const response = await postForm(shield, "/security/report", session, [
        ...reportFormParts({ description: undefined, assetOther: undefined, asset: "www.example.com" }),
        { name: "description", value: Buffer.from("é 日本 — fine", "utf8"), contentType: "text/plain; charset=utf-8" },
        { name: "assetOther", value: Buffer.from([0x41, 0xff]) },
      ]);
      expect(response.statusCode, response.body).toBe(303);
      // Nothing kept as sent: the description was valid in its charset, and the other asset was not chosen.
      expect(response.headers.location).toBe("/security/report/received");
      const row = await shield.database.db.selectFrom("reports").selectAll().orderBy("id", "desc").executeTakeFirstOrThrow();
      expect(row.description).toBe("é 日本 — fine");
      expect(row.asset).toBe("www.example.com");

      const refused = await postForm(shield, "/security/report", await openForm(shield, "/security/report"), [
        ...reportFormParts({ description: undefined }),
        { name: "description", value: Buffer.from([0x61, 0xff, 0x62]), contentType: "text/plain; charset=utf-8" },
      ]);
      expect(refused.statusCode).toBe(400);
      expect(parseHtml(refused.body).getElementById("description-error")?.textContent).toMatch(/not valid UTF-8/);
      await updateSetting(shield.settings, systemClock, { kind: "cli" }, "assets", []);
    });

    it("refuses the other fields when they are not valid UTF-8, keeping the form, and stores nothing", async () => {
      const before = await counts(shield);
      const session = await openForm(shield, "/security/report");
      const response = await postForm(shield, "/security/report", session, [...reportFormParts({ creditName: undefined }), { name: "creditName", value: Buffer.from([0x41, 0xff]) }]);
      expect(response.statusCode).toBe(400);
      const doc = parseHtml(response.body);
      expect(doc.getElementById("creditName-error")?.textContent).toMatch(/not valid UTF-8/);
      expect((doc.getElementById("reporterName") as HTMLInputElement).value).toBe("Ada Researcher");
      expect(await counts(shield)).toEqual(before);
    });

    it("shows no note about bytes on the confirmation of a report sent in valid UTF-8", async () => {
      const response = await submit(reportFormParts({ title: "Plain" }));
      const confirmation = await confirmationOf(response);
      expect(confirmation.statusCode).toBe(200);
      expect(parseHtml(confirmation.body).getElementById("as-sent")).toBeNull();
    });

    it("refuses a file whose name is not valid UTF-8 instead of renaming it, and keeps the rest", async () => {
      const before = await counts(shield);
      const session = await openForm(shield, "/security/report");
      const response = await postForm(shield, "/security/report", session, [
        ...reportFormParts({ title: "Bad file name" }),
        { name: "attachments", value: PNG, filename: Buffer.concat([Buffer.from("bad"), Buffer.from([0xff, 0xfe]), Buffer.from(".png")]), contentType: "image/png" },
      ]);
      expect(response.statusCode).toBe(400);
      const doc = parseHtml(response.body);
      expect(doc.getElementById("attachments-error")?.textContent).toContain("The name of “bad��.png” is not valid UTF-8 text");
      expect((doc.getElementById("title") as HTMLInputElement).value).toBe("Bad file name");
      expect(await counts(shield)).toEqual(before);
      expect(stagedFiles(shield)).toEqual([]);
    });

    it("stores every text field at its longest byte for byte, and refuses one character more next to its field, keeping it", async () => {
      // Three bytes each in UTF-8, with a control character, a right-to-left override and a
      // character outside the BMP (one character to the limits, two UTF-16 units).
      const longest = (n: number) => `\u0001\u202e😀${"€".repeat(n - 3)}`;
      const values = { title: longest(200), description: longest(100_000), steps: longest(50_000), impact: longest(20_000), assetOther: longest(200), reporterName: longest(200), creditName: longest(200) };
      const response = await submit(reportFormParts(values));
      expect(response.statusCode).toBe(303);
      const link = parseHtml((await confirmationOf(response)).body).querySelector("a.tracking-link")!.getAttribute("href")!;
      const row = await shield.database.db.selectFrom("reports").selectAll().where("tracking_hash", "=", hashSecret(link.split("/").pop()!)).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ title: values.title, description: values.description, steps: values.steps, impact: values.impact, asset: values.assetOther, reporter_name: values.reporterName, credit_name: values.creditName });

      const before = await counts(shield);
      for (const [field, max] of [["title", 200], ["description", 100_000], ["reporterName", 200]] as const) {
        const refused = await submit(reportFormParts({ [field]: longest(max + 1) }));
        expect(refused.statusCode, field).toBe(400);
        const doc = parseHtml(refused.body);
        expect(doc.getElementById(`${field}-error`)?.textContent, field).toBe(`must be at most ${max} characters`);
        expect((doc.getElementById(field) as HTMLInputElement).value, field).toBe(longest(max + 1));
      }
      // Past 1 MiB a field is not read further: refused as far too long, the rest of the form kept.
      const huge = await submit(reportFormParts({ impact: "x".repeat(1024 * 1024 + 1), reporterName: "Zoë" }));
      expect(huge.statusCode).toBe(400);
      const doc = parseHtml(huge.body);
      expect(doc.getElementById("impact-error")?.textContent).toBe("is far too long");
      expect((doc.getElementById("reporterName") as HTMLInputElement).value).toBe("Zoë");
      expect(await counts(shield)).toEqual(before);
    });

    it("answers a URL-encoded or JSON body with 415 and a page saying how the form is sent, storing nothing", async () => {
      const before = await counts(shield);
      const session = await openForm(shield, "/security/report");
      const fields = Object.fromEntries(reportFormParts().map((p) => [p.name, String(p.value)]));
      const urlEncoded = await shield.app.inject({
        method: "POST",
        url: "/security/report",
        payload: new URLSearchParams({ _csrf: session.token, ...fields }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: session.cookie },
      });
      const json = await shield.app.inject({ method: "POST", url: "/security/report", payload: { _csrf: session.token, ...fields }, headers: { cookie: session.cookie } });
      for (const response of [urlEncoded, json]) {
        expect(response.statusCode).toBe(415);
        expect(response.headers["content-type"]).toMatch(/text\/html/);
        expect(parseHtml(response.body).querySelector("main")?.textContent).toMatch(/multipart\/form-data/);
      }
      expect(await counts(shield)).toEqual(before);
    });

    it("refuses a post without the form's CSRF token or cookie, storing nothing", async () => {
      const before = await counts(shield);
      const session = await openForm(shield, "/security/report");
      const noCookie = await postForm(shield, "/security/report", { cookie: "", token: session.token }, reportFormParts());
      const wrongToken = await postForm(shield, "/security/report", { cookie: session.cookie, token: "forged" }, reportFormParts());
      const otherSession = await openForm(shield, "/security/report");
      const mixed = await postForm(shield, "/security/report", { cookie: otherSession.cookie, token: "x" + session.token.slice(1) }, reportFormParts());
      for (const response of [noCookie, wrongToken, mixed]) {
        expect(response.statusCode).toBe(403);
        expect(response.headers["content-type"]).toMatch(/text\/html/);
        expect(response.body).toContain("This form has expired");
      }
      expect(await counts(shield)).toEqual(before);
    });

    it("refuses the form sent from another site with a valid token, and takes it from its own page", async () => {
      const before = await counts(shield);
      const session = await openForm(shield, "/security/report");
      for (const headers of [{ "sec-fetch-site": "cross-site" }, { origin: "https://evil.example" }] as Array<Record<string, string>>) {
        const response = await postForm(shield, "/security/report", session, reportFormParts(), { headers });
        expect(response.statusCode).toBe(403);
        expect(response.body).toContain("This form has expired");
      }
      expect(await counts(shield)).toEqual(before);
      const own = await postForm(shield, "/security/report", session, reportFormParts(), { headers: { origin: "null", "sec-fetch-site": "same-origin" } });
      expect(own.statusCode).toBe(303);
    });

    it("leaves the JSON API free of cookies and CSRF, and keeps multipart out of it", async () => {
      const json = await shield.app.inject({
        method: "POST",
        url: "/api/v1/reports",
        payload: { channel: "vulnerability", title: "t", description: "d", reporter: { name: "n", email: "n@example.org" } },
      });
      expect(json.statusCode).toBe(201);
      expect(json.headers["set-cookie"]).toBeUndefined();
      const form = multipart([{ name: "title", value: "t" }]);
      const refused = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: form.payload, headers: form.headers });
      expect(refused.statusCode).toBe(415);
    });

    it("stores hostile text byte for byte and shows it escaped", async () => {
      const hostile = {
        title: `<script>alert(1)</script>"'><img src=x onerror=alert(2)> {{7*7}} \${7*7} <%= 7*7 %>`,
        description: `\n<svg onload=alert(3)>\r\n'; DROP TABLE reports;--\t\u202eevil\u0007 ${"é".repeat(3)}`,
        steps: `</textarea><script>alert(4)</script>`,
        impact: `javascript:alert(5)`,
        assetOther: `<b>asset</b>`,
        reporterName: `<i>Mallory</i> & co`,
        creditName: `"><script>alert(6)</script>`,
        creditUrl: `https://example.org/?q="><script>alert(7)</script>`,
      };
      const response = await submit(reportFormParts(hostile));
      expect(response.statusCode).toBe(303);
      const confirmation = await confirmationOf(response);
      expect(confirmation.body).not.toMatch(/<script>alert|<img src=x|<svg onload/);
      const link = parseHtml(confirmation.body).querySelector("a.tracking-link")!.getAttribute("href")!;
      const token = link.split("/").pop()!;
      const row = await shield.database.db.selectFrom("reports").selectAll().where("tracking_hash", "=", hashSecret(token)).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ title: hostile.title, description: hostile.description, steps: hostile.steps, impact: hostile.impact, asset: hostile.assetOther, reporter_name: hostile.reporterName, credit_name: hostile.creditName, credit_url: hostile.creditUrl });

      const page = await shield.app.inject({ method: "GET", url: `/security/reports/${token}` });
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toMatch(/<script>alert|<img src=x|<svg onload|<b>asset|<i>Mallory/);
      const doc = parseHtml(page.body);
      expect(doc.querySelector("h1")?.textContent).toBe(`Report #${row.id}: ${hostile.title}`);
      // Isolated from the text around it: the override character in the description cannot reorder the page.
      expect(doc.querySelector("h1 > bdi")?.textContent).toBe(hostile.title);
      // An HTML parser reads CR LF as LF; the bytes in the database (above) are the original.
      expect(Array.from(doc.querySelectorAll(".report-text")).map((e) => e.textContent)).toEqual([hostile.description.replace(/\r\n/g, "\n"), hostile.steps, hostile.impact]);
      expect((doc.getElementById("creditName") as HTMLInputElement).value).toBe(hostile.creditName);
      expect((doc.getElementById("creditUrl") as HTMLInputElement).value).toBe(hostile.creditUrl);
    });

    it("keeps hostile input on a refused form, escaped, including a leading newline in text areas", async () => {
      const description = "\n\n<script>alert(1)</script>\r\n";
      const hostile = { reporterEmail: `"><script>alert(2)</script>@example.org`, reporterPgpKey: `</textarea><script>alert(3)</script>`, assetOther: `"><svg onload=alert(4)>`, aiUsed: `"><script>alert(5)</script>` };
      const response = await submit(reportFormParts({ title: "", description, ...hostile }));
      expect(response.statusCode).toBe(400);
      expect(response.body).not.toMatch(/<script>alert|<svg onload/);
      const doc = parseHtml(response.body);
      expect((doc.getElementById("description") as HTMLTextAreaElement).value).toBe(description.replace(/\r\n/g, "\n"));
      expect((doc.getElementById("reporterEmail") as HTMLInputElement).value).toBe(hostile.reporterEmail);
      expect(doc.getElementById("reporterEmail-error")?.textContent).toBe("must be an e-mail address");
      expect((doc.getElementById("reporterPgpKey") as HTMLTextAreaElement).value).toBe(hostile.reporterPgpKey);
      expect(doc.getElementById("reporterPgpKey-error")?.textContent?.length).toBeGreaterThan(5);
      expect((doc.getElementById("assetOther") as HTMLInputElement).value).toBe(hostile.assetOther);
      expect(doc.getElementById("aiUsed-error")?.textContent).toBe("choose yes, no, or leave it unanswered");
    });

    it("stores attachments content-addressed, judged by content, with the name as given", async () => {
      const name = `<img src=x onerror=alert(1)>.png`;
      const response = await submit([
        ...reportFormParts(),
        { name: "attachments", value: PNG, filename: name, contentType: "text/html" },
        { name: "attachments", value: Buffer.from("log line 1\nlog line 2 é\n"), filename: "server.exe", contentType: "application/x-msdownload" },
        { name: "attachments", value: PDF, filename: "report", contentType: "image/png" },
        { name: "attachments", value: gzipSync(Buffer.alloc(100_000, "A")), filename: "logs.tar.gz" },
      ]);
      expect(response.statusCode).toBe(303);
      const rows = await shield.database.db.selectFrom("attachments").selectAll().orderBy("id", "desc").limit(4).execute();
      const byName = Object.fromEntries(rows.map((r) => [r.filename, r]));
      expect(byName[name]?.content_type).toBe("image/png");
      expect(byName["server.exe"]?.content_type).toBe("text/plain");
      expect(byName["report"]?.content_type).toBe("application/pdf");
      expect(byName["logs.tar.gz"]?.content_type).toBe("application/gzip");
      for (const row of rows) {
        expect(row.message_id).toBeNull();
        const file = path.join(shield.dataDir, "blobs", row.blob_sha256.slice(0, 2), row.blob_sha256);
        expect(fs.statSync(file).size).toBe(row.size);
      }
      expect(fs.readFileSync(path.join(shield.dataDir, "blobs", byName[name]!.blob_sha256.slice(0, 2), byName[name]!.blob_sha256)).equals(PNG)).toBe(true);
      expect(stagedFiles(shield)).toEqual([]);
      const audit = await shield.database.db.selectFrom("audit_events").selectAll().where("action", "=", "attachments.received").where("subject_id", "=", String(rows[0]!.report_id)).execute();
      expect(audit).toHaveLength(1);
    });

    it("has each file on disk before the report that names it is committed, and records nothing when a file cannot be stored", async () => {
      const commit = BlobStore.prototype.commit;
      const seenAtCommit: Array<{ reports: number; attachments: number }> = [];
      const spy = vi.spyOn(BlobStore.prototype, "commit").mockImplementation(async function (this: BlobStore, staged) {
        await commit.call(this, staged);
        seenAtCommit.push({ reports: (await counts(shield)).reports, attachments: (await counts(shield)).attachments });
      });
      try {
        const before = await counts(shield);
        const response = await submit([...reportFormParts({ title: "Two files" }), { name: "attachments", value: PNG, filename: "a.png" }, { name: "attachments", value: PDF, filename: "b.pdf" }]);
        expect(response.statusCode).toBe(303);
        // Both files were on disk (fsynced, named) while the database had neither the report nor its files.
        expect(seenAtCommit).toEqual([
          { reports: before.reports, attachments: before.attachments },
          { reports: before.reports, attachments: before.attachments },
        ]);
        const stored = await counts(shield);
        expect(stored).toMatchObject({ reports: before.reports + 1, attachments: before.attachments + 2 });

        // A disk that refuses the file: no report, no attachment row pointing at nothing, no staged copy left.
        spy.mockRejectedValue(Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC", syscall: "link" }));
        const failed = await submit([...reportFormParts({ title: "Disk full" }), { name: "attachments", value: PNG, filename: "c.png" }]);
        expect(failed.statusCode).toBe(500);
        expect(parseHtml(failed.body).querySelector("main")?.textContent).toMatch(/try again/i);
        expect(await counts(shield)).toEqual(stored);
        expect(stagedFiles(shield)).toEqual([]);
      } finally {
        spy.mockRestore();
      }
    });

    it("refuses executables and unknown binary data by content, whatever their names, with a clear message", async () => {
      const before = await counts(shield);
      const response = await submit([
        ...reportFormParts({ title: "keep me" }),
        { name: "attachments", value: ELF, filename: "screenshot.png", contentType: "image/png" },
        { name: "attachments", value: EXE, filename: "notes.txt" },
        { name: "attachments", value: UNKNOWN, filename: "data.bin" },
        { name: "attachments", value: Buffer.from("caf\xe9 au lait", "latin1"), filename: "latin1.txt" },
      ]);
      expect(response.statusCode).toBe(400);
      const doc = parseHtml(response.body);
      const message = doc.getElementById("attachments-error")?.textContent ?? "";
      expect(message).toContain("“screenshot.png” is a Linux program; executables are refused.");
      expect(message).toContain("“notes.txt” is a Windows program; executables are refused.");
      expect(message).toContain("“data.bin” is unknown binary data (text must be UTF-8).");
      expect(message).toContain("“latin1.txt” is unknown binary data");
      expect(doc.getElementById("error-summary")?.textContent).toContain("attached files are not kept");
      expect((doc.getElementById("title") as HTMLInputElement).value).toBe("keep me");
      expect(await counts(shield)).toEqual(before);
      expect(stagedFiles(shield)).toEqual([]);
    });

    it("stores identical attachments once on disk, one row each", async () => {
      const bytes = Buffer.from(`same bytes ${kind}\n`);
      await submit([...reportFormParts(), { name: "attachments", value: bytes, filename: "a.txt" }]);
      await submit([...reportFormParts(), { name: "attachments", value: bytes, filename: "b.txt" }]);
      const rows = await shield.database.db.selectFrom("attachments").selectAll().where("filename", "in", ["a.txt", "b.txt"]).execute();
      expect(rows).toHaveLength(2);
      expect(rows[0]!.blob_sha256).toBe(rows[1]!.blob_sha256);
      expect(rows[0]!.report_id).not.toBe(rows[1]!.report_id);
    });

    it("offers the assets from the settings, plus Other with a text field", async () => {
      await updateSetting(shield.settings, { now: () => new Date() }, { kind: "cli" }, "assets", ["app.example.com", "Mobile app"]);
      const page = await openForm(shield, "/security/report");
      const options = Array.from(parseHtml(page.html).querySelectorAll("#asset option")).map((o) => o.getAttribute("value"));
      expect(options).toEqual(["", "app.example.com", "Mobile app", "other"]);

      const listed = await postForm(shield, "/security/report", page, reportFormParts({ asset: "Mobile app", title: "asset listed" }));
      const other = await postForm(shield, "/security/report", page, reportFormParts({ asset: "other", assetOther: "legacy.example.com", title: "asset other" }));
      const forged = await postForm(shield, "/security/report", page, reportFormParts({ asset: "not-an-asset", title: "asset forged" }));
      expect([listed.statusCode, other.statusCode, forged.statusCode]).toEqual([303, 303, 400]);
      expect(parseHtml(forged.body).getElementById("asset-error")?.textContent).toBe("choose one of the listed assets, or Other");
      const rows = await shield.database.db.selectFrom("reports").select(["title", "asset"]).where("title", "in", ["asset listed", "asset other", "asset forged"]).orderBy("id").execute();
      expect(rows).toEqual([
        { title: "asset listed", asset: "Mobile app" },
        { title: "asset other", asset: "legacy.example.com" },
      ]);
      await updateSetting(shield.settings, { now: () => new Date() }, { kind: "cli" }, "assets", []);
    });

    it("records credit and AI use as chosen", async () => {
      const page = await openForm(shield, "/security/report");
      await postForm(shield, "/security/report", page, reportFormParts({ title: "credit link", creditName: "Ada L.", creditUrl: "https://ada.example.org", aiUsed: "yes" }));
      await postForm(shield, "/security/report", page, [...reportFormParts({ title: "credit anonymous", creditName: "Ada L.", aiUsed: "no" }), { name: "creditAnonymous", value: "yes" }]);
      const rows = await shield.database.db.selectFrom("reports").select(["title", "credit_name", "credit_url", "ai_used"]).where("title", "in", ["credit link", "credit anonymous"]).orderBy("id").execute();
      expect(rows).toEqual([
        { title: "credit link", credit_name: "Ada L.", credit_url: "https://ada.example.org", ai_used: 1 },
        { title: "credit anonymous", credit_name: null, credit_url: null, ai_used: 0 },
      ]);
    });
  });

  describe("attachment limits on the form", () => {
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind, { env: { SHIELD_ATTACHMENT_MAX_BYTES: "2048", SHIELD_ATTACHMENT_MAX_FILES: "2", SHIELD_ATTACHMENT_MAX_TOTAL_BYTES: "3072" } });
    });
    afterAll(async () => shield.destroy());

    const submit = async (files: FormPart[]) => postForm(shield, "/security/report", await openForm(shield, "/security/report"), [...reportFormParts(), ...files]);
    const text = (n: number, c = "a") => Buffer.from(c.repeat(n));
    const errorOf = (body: string) => parseHtml(body).getElementById("attachments-error")?.textContent ?? "";

    it("states the limits on the form", async () => {
      const page = await openForm(shield, "/security/report");
      expect(parseHtml(page.html).getElementById("attachments-hint")?.textContent).toContain("Up to 2 files, each at most 2 KB, 3 KB together.");
    });

    it("refuses a file over the per-file limit", async () => {
      const response = await submit([{ name: "attachments", value: text(2049), filename: "big.txt" }]);
      expect(response.statusCode).toBe(400);
      expect(errorOf(response.body)).toBe("“big.txt” is larger than 2 KB.");
    });

    it("accepts a file of exactly the limit", async () => {
      expect((await submit([{ name: "attachments", value: text(2048), filename: "exact.txt" }])).statusCode).toBe(303);
    });

    it("refuses more files than allowed", async () => {
      const response = await submit([1, 2, 3].map((i) => ({ name: "attachments", value: text(10, String(i)), filename: `f${i}.txt` })));
      expect(response.statusCode).toBe(400);
      expect(errorOf(response.body)).toBe("At most 2 files can be attached.");
    });

    it("refuses files that together go over the total", async () => {
      const response = await submit([
        { name: "attachments", value: text(1600, "x"), filename: "one.txt" },
        { name: "attachments", value: text(1600, "y"), filename: "two.txt" },
      ]);
      expect(response.statusCode).toBe(400);
      expect(errorOf(response.body)).toBe("“two.txt” goes over 3 KB for all files together.");
      expect(stagedFiles(shield)).toEqual([]);
    });

    it("answers a flood of files with a page, not a crash", async () => {
      const response = await submit(Array.from({ length: 12 }, (_, i) => ({ name: "attachments", value: text(5, "z"), filename: `f${i}.txt` })));
      expect(response.statusCode).toBe(413);
      expect(response.headers["content-type"]).toMatch(/text\/html/);
      expect(stagedFiles(shield)).toEqual([]);
    });

    it("answers a body that is not multipart with a page", async () => {
      const session = await openForm(shield, "/security/report");
      const broken = await shield.app.inject({
        method: "POST",
        url: "/security/report",
        payload: "--x\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nunterminated",
        headers: { "content-type": "multipart/form-data; boundary=x", cookie: session.cookie },
      });
      expect(broken.statusCode).toBe(400);
      expect(broken.headers["content-type"]).toMatch(/text\/html/);
    });
  });
});
