import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { hashSecret } from "../../platform/crypto/secrets.js";
import { findReportByTrackingHash } from "../reports/index.js";

forEachDatabase((kind) => {
  describe("POST /api/v1/reports", () => {
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind);
    });
    afterAll(async () => shield.destroy());

    const submit = (payload: unknown, headers: Record<string, string> = {}) =>
      shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: payload as object, headers });

    it("stores a report and answers 201 with its id, tracking link and promised reply time", async () => {
      const response = await submit(buildReportInput({ channel: "account_attack" }));
      expect(response.statusCode).toBe(201);
      const body = response.json();
      expect(body).toMatchObject({ state: "new", channel: "account_attack", firstResponseTarget: "2 hours" });
      expect(body.trackingUrl).toMatch(/^https:\/\/security\.example\.test\/security\/reports\/[A-Za-z0-9_-]{43}$/);
      expect(Date.parse(body.firstResponseDue) - Date.parse(body.receivedAt)).toBe(2 * 3600_000);
    });

    it("keeps the tracking secret only as a hash", async () => {
      const { trackingUrl, id } = (await submit(buildReportInput())).json();
      const token = trackingUrl.split("/").pop();
      const row = await shield.database.db.selectFrom("reports").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain(token);
      expect((await findReportByTrackingHash(shield.database.db, hashSecret(token)))?.id).toBe(id);
    });

    it("promises 72 hours on the vulnerability channel", async () => {
      expect((await submit(buildReportInput({ channel: "vulnerability" }))).json().firstResponseTarget).toBe("72 hours");
    });

    it("names every invalid field in a 400", async () => {
      const response = await submit({ channel: "phone", title: "", description: 42, reporter: { name: "", email: "not-mail" }, credit: { url: "javascript:alert(1)" }, aiUsed: "yes", extra: 1 });
      expect(response.statusCode).toBe(400);
      const { error } = response.json();
      expect(error.code).toBe("validation_failed");
      expect(Object.keys(error.fields).sort()).toEqual(["aiUsed", "channel", "credit.url", "description", "extra", "reporter.email", "reporter.name", "title"]);
      expect(error.fields.title).toBe("is required");
      expect(error.fields.extra).toBe("is not a known field");
    });

    it("refuses a credit link with a line break, tab or NUL in it, saying so", async () => {
      for (const hidden of ["\r\n", "\t", "\u0000"]) {
        const response = await submit(buildReportInput({ credit: { name: "Ada", url: `https://ada.example.org/${hidden}Set-Cookie: a=b` } }));
        expect(response.statusCode).toBe(400);
        expect(response.json().error.fields).toEqual({ "credit.url": "must not contain spaces, line breaks, tabs or other control characters" });
      }
    });

    it("reports a missing body as missing fields", async () => {
      const response = await submit({});
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields).toMatchObject({ channel: expect.any(String), title: "is required", description: "is required", reporter: "is required" });
    });

    it("refuses the support channel and points to the support contact instead", async () => {
      const response = await submit(buildReportInput({ channel: "support" as "vulnerability" }));
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields.channel).toMatch(/support/);
    });

    it("answers malformed JSON with 400 invalid_json", async () => {
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: '{"channel":', headers: { "content-type": "application/json" } });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe("invalid_json");
    });

    it("refuses a body that is not valid UTF-8 instead of storing altered text", async () => {
      const before = await shield.database.db.selectFrom("reports").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      const json = Buffer.from(JSON.stringify(buildReportInput({ title: "a__b" })));
      const at = json.indexOf("a__b") + 1;
      json[at] = 0xff;
      json[at + 1] = 0xfe;
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: json, headers: { "content-type": "application/json; charset=utf-8" } });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toEqual({ code: "invalid_utf8", message: "The request body is not valid UTF-8 text; send JSON encoded as UTF-8." });
      const after = await shield.database.db.selectFrom("reports").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      expect(Number(after.n)).toBe(Number(before.n));
      // Prototype poisoning is still refused as Fastify's own parser refuses it.
      const poisoned = await shield.app.inject({
        method: "POST",
        url: "/api/v1/reports",
        payload: JSON.stringify(buildReportInput()).replace(/^\{/, '{"__proto__":{"isAdmin":true},'),
        headers: { "content-type": "application/json" },
      });
      expect(poisoned.statusCode).toBe(400);
      expect(poisoned.json().error.code).toBe("invalid_json");
    });

    it("stores hostile text byte for byte", async () => {
      const title = `<script>alert(1)</script>'; DROP TABLE reports;-- {{7*7}} \u202e\u0007 ${"é".repeat(3)}`;
      const description = `${"A".repeat(90_000)}\r\n<img src=x onerror=alert(1)>\t\u001b[31m`;
      const { id } = (await submit(buildReportInput({ title, description }))).json();
      const row = await shield.database.db.selectFrom("reports").select(["title", "description"]).where("id", "=", id).executeTakeFirstOrThrow();
      expect(row.title).toBe(title);
      expect(row.description).toBe(description);
    });

    it("refuses NUL characters and unpaired surrogates with a field error", async () => {
      const nul = await submit(buildReportInput({ title: "a\u0000b" }));
      expect(nul.statusCode).toBe(400);
      expect(nul.json().error.fields.title).toMatch(/NUL/);
      const surrogate = await shield.app.inject({
        method: "POST",
        url: "/api/v1/reports",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify(buildReportInput()).replace('"description":"', '"description":"\\ud800'),
      });
      expect(surrogate.statusCode).toBe(400);
      expect(surrogate.json().error.fields.description).toMatch(/Unicode/);
    });

    it("commits the report, its audit event and its receipt job together", async () => {
      const { id } = (await submit(buildReportInput())).json();
      const db = shield.database.db;
      const audit = await db.selectFrom("audit_events").selectAll().where("subject_id", "=", String(id)).where("action", "=", "report.received").execute();
      expect(audit).toHaveLength(1);
      const jobs = await db.selectFrom("jobs").selectAll().where("kind", "=", "mail.receipt").execute();
      expect(jobs.some((j) => JSON.parse(j.payload).reportId === id)).toBe(true);
    });

    it("sends the receipt through the outbox as an .eml file with the tracking link and promised time", async () => {
      const input = buildReportInput({ channel: "sensitive", title: "Leaked keys\r\nBcc: victim@example.com" });
      const { id, trackingUrl } = (await submit(input)).json();
      await shield.worker.drain();
      const file = path.join(shield.dataDir, "outbox", fs.readdirSync(path.join(shield.dataDir, "outbox")).find((f) => f.startsWith(`receipt-${id}-`))!);
      const eml = fs.readFileSync(file, "utf8");
      expect(eml).toContain(`To: ${input.reporter.email}`);
      expect(eml).toMatch(/Subject: \[#\d+\] We received your report: Leaked keys Bcc: victim@example.com/);
      expect(eml).not.toMatch(/^Bcc:/m);
      expect(eml.replace(/=\r?\n/g, "")).toContain(trackingUrl);
      expect(eml).toContain("within 24 hours");
      const job = await shield.database.db.selectFrom("jobs").selectAll().where("kind", "=", "mail.receipt").where("state", "=", "done").execute();
      expect(job.every((j) => !j.payload.includes("secret"))).toBe(true);
    });
  });
});

describe("POST /api/v1/reports limits", () => {
  let shield: TestShield;
  beforeAll(async () => {
    shield = await createTestShield("sqlite", { env: { SHIELD_INTAKE_RATE_LIMIT: "3", SHIELD_MAX_BODY_BYTES: "20000" } });
  });
  afterAll(async () => shield.destroy());

  it("answers 413 to a body over the limit", async () => {
    const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ description: "x".repeat(30_000) }), headers: { "x-forwarded-for": "10.9.9.9" } });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe("payload_too_large");
  });

  it("answers 429 once one client has submitted its share for the minute", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput(), remoteAddress: "192.0.2.7" })).statusCode);
    }
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
    const other = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput(), remoteAddress: "192.0.2.8" });
    expect(other.statusCode).toBe(201);
  });
});
