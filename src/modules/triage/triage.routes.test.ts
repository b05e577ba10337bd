import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock, HOUR } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import type { SubmitReportBody } from "../intake/index.js";

type Member = Awaited<ReturnType<TestShield["addMember"]>>;

/** Every `.eml` the file mailer wrote, quoted-printable undone so that text reads as written. */
function outboxText(shield: TestShield): string {
  const dir = path.join(shield.dataDir, "outbox");
  if (!fs.existsSync(dir)) return "";
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".eml"))
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
    .join("\n")
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

forEachDatabase((kind) => {
  describe("triage API", () => {
    let shield: TestShield;
    let triager: Member;
    let admin: Member;
    let viewer: Member;

    beforeAll(async () => {
      shield = await createTestShield(kind);
      triager = await shield.addMember("triager");
      admin = await shield.addMember("admin");
      viewer = await shield.addMember("viewer");
    });
    afterAll(async () => shield.destroy());

    const submit = async (overrides: Partial<SubmitReportBody> = {}) => {
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput(overrides) });
      expect(response.statusCode).toBe(201);
      return response.json().id as number;
    };
    const patch = (id: number, payload: unknown, headers: Record<string, string> = triager.auth) =>
      shield.app.inject({ method: "PATCH", url: `/api/v1/reports/${id}`, headers, payload: payload as object });
    const auditOf = async (id: number, action: string) =>
      (
        await shield.database.db
          .selectFrom("audit_events")
          .selectAll()
          .where("subject_type", "=", "report")
          .where("subject_id", "=", String(id))
          .where("action", "=", action)
          .orderBy("seq")
          .execute()
      ).map((e) => ({ actor: e.actor, data: JSON.parse(e.data) }));

    it("documents every triage call and the list parameters in the OpenAPI document", async () => {
      const response = await shield.app.inject({ method: "GET", url: "/api/v1/openapi.json" });
      expect(response.statusCode).toBe(200);
      const { paths } = response.json();
      expect(Object.keys(paths["/api/v1/reports/{id}"])).toEqual(expect.arrayContaining(["get", "patch"]));
      expect(paths["/api/v1/reports/{id}/messages"]).toHaveProperty("post");
      expect(Object.keys(paths["/api/v1/reports/{id}/upstreams/{upstreamId}"])).toEqual(expect.arrayContaining(["patch", "delete"]));
      expect(paths["/api/v1/reports/{id}/similar"]).toHaveProperty("get");
      expect(paths["/api/v1/cwe"]).toHaveProperty("get");
      const listParameters = paths["/api/v1/reports"].get.parameters.map((p: { name: string }) => p.name);
      expect(listParameters).toEqual(expect.arrayContaining(["sort", "q", "owner", "severity"]));
      expect(JSON.stringify(paths["/api/v1/reports/{id}"].patch.requestBody)).toContain("cvss40Vector");
    });

    describe("PATCH /api/v1/reports/:id", () => {
      it("scores a CVSS 3.1 vector, lets the severity follow it, and audits the changed fields before and after", async () => {
        const id = await submit();
        const response = await patch(id, { cvss31Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" });
        expect(response.statusCode).toBe(200);
        const body = response.json();
        expect(body.assessment).toEqual({
          cvss31: { vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", score: 9.8, rating: "critical" },
          cvss40: null,
          severity: "critical",
          severitySource: "cvss31",
          cwe: null,
        });
        expect(body.severity).toBe("critical");
        const [entry] = await auditOf(id, "report.triage_updated");
        expect(entry!.actor).toBe(`user:${triager.member.id}:${triager.member.email}`);
        expect(entry!.data.changes).toEqual({
          cvss31: { from: null, to: { vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", score: 9.8, rating: "critical" } },
          severity: { from: null, to: "critical" },
          severitySource: { from: null, to: "cvss31" },
        });
        expect(JSON.stringify(entry!.data)).not.toContain("rendered without escaping");
      });

      it("prefers the CVSS 4.0 rating, keeps an explicit severity, and clears a vector with null", async () => {
        const id = await submit();
        await patch(id, { cvss31Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N" });
        const both = (await patch(id, { cvss40Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N" })).json();
        expect(both.assessment).toMatchObject({ cvss31: { score: 6.1, rating: "medium" }, cvss40: { score: 9.3, rating: "critical" }, severity: "critical", severitySource: "cvss40" });
        const explicit = (await patch(id, { severity: "high" })).json();
        expect(explicit.assessment).toMatchObject({ severity: "high", severitySource: "explicit" });
        const cleared = (await patch(id, { cvss40Vector: null })).json();
        expect(cleared.assessment).toMatchObject({ cvss40: null, severity: "high", severitySource: "explicit" });
        const following = (await patch(id, { severity: null })).json();
        expect(following.assessment).toMatchObject({ severity: "medium", severitySource: "cvss31" });
      });

      it("refuses a malformed vector with a field error saying what is wrong, and changes nothing", async () => {
        const id = await submit();
        const cases: Array<[string, unknown, RegExp]> = [
          ["cvss31Vector", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", /missing the mandatory metric A \(Availability\)/],
          ["cvss31Vector", "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", /AV more than once/],
          ["cvss31Vector", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q", /A:Q/],
          ["cvss40Vector", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", /is a CVSS 3\.1 vector/],
          ["cvss40Vector", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N trailing", /spaces/],
        ];
        for (const [field, vector, problem] of cases) {
          const response = await patch(id, { [field]: vector, severity: "low" });
          expect(response.statusCode).toBe(400);
          expect(response.json().error.code).toBe("validation_failed");
          expect(response.json().error.fields[field]).toMatch(problem);
        }
        const read = (await shield.app.inject({ method: "GET", url: `/api/v1/reports/${id}`, headers: triager.auth })).json();
        expect(read.assessment).toMatchObject({ cvss31: null, cvss40: null, severity: null });
        expect(await auditOf(id, "report.triage_updated")).toEqual([]);
      });

      it("records a CWE from the dictionary with its name, and refuses one that is not in it", async () => {
        const id = await submit();
        const ok = await patch(id, { cwe: "cwe-79" });
        expect(ok.json().assessment.cwe).toEqual({ id: "CWE-79", name: "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')" });
        const unknown = await patch(id, { cwe: "CWE-99999" });
        expect(unknown.statusCode).toBe(400);
        expect(unknown.json().error.fields.cwe).toMatch(/not a weakness/);
        expect((await patch(id, { cwe: null })).json().assessment.cwe).toBeNull();
      });

      it("gives the report one owner, who must be a triager or an admin", async () => {
        const id = await submit();
        const owned = await patch(id, { ownerEmail: admin.member.email.toUpperCase() });
        expect(owned.json()).toMatchObject({ ownerId: admin.member.id, ownerEmail: admin.member.email });
        const toViewer = await patch(id, { ownerEmail: viewer.member.email });
        expect(toViewer.statusCode).toBe(400);
        expect(toViewer.json().error.fields.ownerEmail).toMatch(/viewers cannot own/);
        expect((await patch(id, { ownerEmail: "nobody@example.org" })).json().error.fields.ownerEmail).toMatch(/not an active team member/);
        const moved = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/transitions`, headers: triager.auth, payload: { to: "acknowledged", reason: "Looking into it." } });
        expect(moved.statusCode).toBe(200);
        const unowned = await patch(id, { ownerEmail: null });
        expect(unowned.statusCode).toBe(400);
        expect(unowned.json().error.fields.ownerEmail).toMatch(/exactly one owner/);
        expect((await auditOf(id, "report.triage_updated"))[0]!.data.changes).toEqual({ owner: { from: null, to: admin.member.email } });
      });

      it("sets the asset and the affected versions, and clears them with an empty value", async () => {
        const id = await submit({ asset: "app.example.com" });
        const set = (await patch(id, { asset: "api.example.com", affectedVersions: "< 2.4.1" })).json();
        expect(set).toMatchObject({ asset: "api.example.com", affectedVersions: "< 2.4.1" });
        const cleared = (await patch(id, { affectedVersions: "" })).json();
        expect(cleared.affectedVersions).toBeNull();
        expect((await auditOf(id, "report.triage_updated"))[0]!.data.changes).toEqual({
          asset: { from: "app.example.com", to: "api.example.com" },
          affectedVersions: { from: null, to: "< 2.4.1" },
        });
      });

      it("suggests a bounty from the severity table and records eligibility, amount, award and payment", async () => {
        const id = await submit();
        const rated = (await patch(id, { severity: "high" })).json();
        expect(rated.bounty).toEqual({ eligible: null, reason: null, amount: null, currency: null, suggested: { amount: 2000, currency: "USD" }, awardedAt: null, paidAt: null });
        const noReason = await patch(id, { bounty: { eligible: false } });
        expect(noReason.statusCode).toBe(400);
        expect(noReason.json().error.fields["bounty.reason"]).toMatch(/say why/);
        const notEligible = await patch(id, { bounty: { amount: 100 } });
        expect(notEligible.json().error.fields["bounty.amount"]).toMatch(/eligible/);
        const awarded = (await patch(id, { bounty: { eligible: true, amount: 2000, awardedAt: "2020-01-02T10:00:00+01:00" } })).json();
        expect(awarded.bounty).toMatchObject({ eligible: true, amount: 2000, currency: "USD", awardedAt: "2020-01-02T09:00:00.000Z", paidAt: null });
        const paid = (await patch(id, { bounty: { paidAt: "2020-01-03T00:00:00Z" } })).json();
        expect(paid.bounty.paidAt).toBe("2020-01-03T00:00:00.000Z");
        const changes = (await auditOf(id, "report.triage_updated")).map((e) => Object.keys(e.data.changes));
        expect(changes).toEqual([["severity", "severitySource"], ["bounty.eligible", "bounty.amount", "bounty.currency", "bounty.awardedAt"], ["bounty.paidAt"]]);
      });

      it("tells the reporter the bounty decision by mail: not eligible with the reason, then eligible, then the amount awarded; a payment tells nothing", async () => {
        const id = await submit({ title: "Bounty mail" });
        const bountyMails = () => {
          const dir = path.join(shield.dataDir, "outbox");
          return fs
            .readdirSync(dir)
            .filter((f) => f.startsWith(`bounty-${id}-`))
            .sort((a, b) => Number(a.split("-job-")[1]!.split(".")[0]) - Number(b.split("-job-")[1]!.split(".")[0]))
            .map((f) => fs.readFileSync(path.join(dir, f), "utf8").replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))));
        };
        expect((await patch(id, { bounty: { eligible: false, reason: "Out of scope: a staging host." } })).statusCode).toBe(200);
        expect((await patch(id, { bounty: { eligible: true } })).statusCode).toBe(200);
        expect((await patch(id, { bounty: { amount: 750, awardedAt: "2020-01-02T10:00:00Z" } })).statusCode).toBe(200);
        expect((await patch(id, { bounty: { paidAt: "2020-01-03T00:00:00Z" } })).statusCode).toBe(200);
        await shield.worker.drain();
        const mails = bountyMails();
        expect(mails).toHaveLength(3);
        expect(mails[0]).toContain(`Subject: [#${id}] Bounty decision on your report: Bounty mail`);
        expect(mails[0]).toContain("Your report is not eligible for a bounty. The reason: Out of scope: a staging host.");
        expect(mails[1]).toContain("Your report is eligible for a bounty.");
        expect(mails[2]).toContain("We award you a bounty of 750 USD for this report.");
      });

      it("refuses viewers with 403, unknown reports with 404, unknown fields and an empty change with 400", async () => {
        const id = await submit();
        expect((await patch(id, { severity: "low" }, viewer.auth)).statusCode).toBe(403);
        expect((await patch(id, { severity: "low" }, {})).statusCode).toBe(401);
        const missing = await patch(999_999, { severity: "low" });
        expect(missing.statusCode).toBe(404);
        expect(missing.json().error.code).toBe("report_not_found");
        expect((await patch(id, { title: "new title" })).json().error.fields.title).toBe("is not a known field");
        expect((await patch(id, {})).statusCode).toBe(400);
      });
    });

    describe("upstreams", () => {
      const upstreamUrl = (id: number, upstreamId?: number) => `/api/v1/reports/${id}/upstreams${upstreamId ? `/${upstreamId}` : ""}`;

      it("adds, changes and removes an upstream, each audited", async () => {
        const id = await submit();
        const created = await shield.app.inject({
          method: "POST",
          url: upstreamUrl(id),
          headers: triager.auth,
          payload: { project: "Ruby on Rails", contact: "security@rubyonrails.org", reference: "https://github.com/rails/rails/security", embargoUntil: "2026-04-01" },
        });
        expect(created.statusCode).toBe(201);
        const [upstream] = created.json().upstreams;
        expect(upstream).toMatchObject({ project: "Ruby on Rails", status: "not_notified", embargoUntil: "2026-04-01", reference: "https://github.com/rails/rails/security" });
        const changed = await shield.app.inject({ method: "PATCH", url: upstreamUrl(id, upstream.id), headers: triager.auth, payload: { status: "acknowledged", reference: "GHSA-1234-abcd" } });
        expect(changed.statusCode).toBe(200);
        expect(changed.json().upstreams[0]).toMatchObject({ status: "acknowledged", reference: "GHSA-1234-abcd" });
        const removed = await shield.app.inject({ method: "DELETE", url: upstreamUrl(id, upstream.id), headers: triager.auth });
        expect(removed.json().upstreams).toEqual([]);
        expect((await auditOf(id, "report.upstream_added"))[0]!.data).toMatchObject({ upstreamId: upstream.id, project: "Ruby on Rails", status: "not_notified" });
        expect((await auditOf(id, "report.upstream_changed"))[0]!.data.changes).toEqual({
          reference: { from: "https://github.com/rails/rails/security", to: "GHSA-1234-abcd" },
          status: { from: "not_notified", to: "acknowledged" },
        });
        expect(await auditOf(id, "report.upstream_removed")).toHaveLength(1);
        expect((await shield.app.inject({ method: "DELETE", url: upstreamUrl(id, upstream.id), headers: triager.auth })).statusCode).toBe(404);
      });

      it("refuses a script link, an unknown status and a bad embargo date", async () => {
        const id = await submit();
        const script = await shield.app.inject({ method: "POST", url: upstreamUrl(id), headers: triager.auth, payload: { project: "lib", reference: "javascript:alert(1)" } });
        expect(script.statusCode).toBe(400);
        expect(script.json().error.fields.reference).toMatch(/http\(s\)/);
        const bad = await shield.app.inject({ method: "POST", url: upstreamUrl(id), headers: triager.auth, payload: { project: "lib", status: "lost", embargoUntil: "2026-02-30" } });
        expect(Object.keys(bad.json().error.fields).sort()).toEqual(["embargoUntil", "status"]);
        const twoLines = await shield.app.inject({ method: "POST", url: upstreamUrl(id), headers: triager.auth, payload: { project: "lib", reference: "CVE-2024-1\nInjected: header" } });
        expect(twoLines.json().error.fields.reference).toMatch(/one line/);
        expect((await shield.app.inject({ method: "POST", url: upstreamUrl(id), headers: viewer.auth, payload: { project: "lib" } })).statusCode).toBe(403);
      });
    });

    describe("POST /api/v1/reports/:id/messages", () => {
      const post = (id: number, payload: unknown, headers: Record<string, string> = triager.auth) =>
        shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/messages`, headers, payload: payload as object });

      it("keeps an internal note from the reporter: stored, not e-mailed, the report still new", async () => {
        const id = await submit();
        const response = await post(id, { body: "Internal: probably a duplicate of #12, check with Sam.", internal: true });
        expect(response.statusCode).toBe(201);
        expect(response.json()).toMatchObject({ state: "new", ownerId: null, messages: [{ author: "team", internal: true, body: "Internal: probably a duplicate of #12, check with Sam." }] });
        await shield.worker.drain();
        expect(outboxText(shield)).not.toContain("probably a duplicate of #12");
        const jobs = await shield.database.db.selectFrom("jobs").select("payload").where("kind", "=", "mail.report_update").execute();
        expect(jobs.filter((j) => JSON.parse(j.payload).reportId === id)).toEqual([]);
      });

      it("acknowledges a new report with the first reply, makes the replier its owner and e-mails the reporter", async () => {
        const id = await submit({ reporter: { name: "Grace", email: "grace.reply@example.org" } });
        const response = await post(id, { body: "Thanks Grace, we can reproduce this and are on it." });
        expect(response.statusCode).toBe(201);
        const body = response.json();
        expect(body).toMatchObject({ state: "acknowledged", ownerId: triager.member.id, ownerEmail: triager.member.email });
        expect(body.milestones.acknowledgedAt).toEqual(expect.any(String));
        expect(await auditOf(id, "report.transitioned")).toEqual([expect.objectContaining({ data: expect.objectContaining({ from: "new", to: "acknowledged" }) })]);
        await shield.worker.drain();
        const mail = outboxText(shield);
        expect(mail).toContain("To: grace.reply@example.org");
        expect(mail).toContain("Thanks Grace, we can reproduce this and are on it.");

        const second = await post(id, { body: "A fix is being written." }, admin.auth);
        expect(second.json()).toMatchObject({ state: "acknowledged", ownerId: triager.member.id });
        await shield.worker.drain();
        expect(outboxText(shield)).toContain("A fix is being written.");
        expect(await auditOf(id, "report.message_added")).toHaveLength(2);
      });

      it("refuses viewers, empty bodies and unknown reports", async () => {
        const id = await submit();
        expect((await post(id, { body: "hello" }, viewer.auth)).statusCode).toBe(403);
        expect((await post(id, { body: "   " })).json().error.fields.body).toBe("is required");
        expect((await post(999_999, { body: "hello" })).statusCode).toBe(404);
      });
    });

    describe("GET /api/v1/reports/:id/similar and GET /api/v1/cwe", () => {
      it("suggests the near-duplicate first, with a score", async () => {
        const original = await submit({
          title: "Stored XSS in the invoice notes field",
          description: "Invoice notes are rendered without escaping in the billing dashboard; a script in the notes runs for the accountant.",
          asset: "billing.example.com",
        });
        const unrelated = await submit({ title: "Rate limit missing on login", description: "The login form accepts unlimited password attempts.", asset: "billing.example.com" });
        const duplicate = await submit({
          title: "XSS via invoice notes",
          description: "Script in invoice notes executes in the billing dashboard because the notes are not escaped.",
          asset: "billing.example.com",
        });
        const response = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${duplicate}/similar`, headers: viewer.auth });
        expect(response.statusCode).toBe(200);
        const { similar } = response.json();
        expect(similar[0]).toMatchObject({ id: original, asset: "billing.example.com", score: expect.any(Number) });
        expect(similar[0].score).toBeGreaterThan(0.4);
        expect(similar.map((s: { id: number }) => s.id)).not.toContain(duplicate);
        expect(similar.length).toBeLessThanOrEqual(5);
        const unrelatedScore = similar.find((s: { id: number }) => s.id === unrelated)?.score ?? 0;
        expect(unrelatedScore).toBeLessThan(similar[0].score);
        expect((await shield.app.inject({ method: "GET", url: "/api/v1/reports/999999/similar", headers: viewer.auth })).statusCode).toBe(404);
      });

      it("searches the CWE dictionary by identifier and by words", async () => {
        const byId = (await shield.app.inject({ method: "GET", url: "/api/v1/cwe?q=CWE-79", headers: viewer.auth })).json();
        expect(byId.version).toBe("4.15");
        expect(byId.weaknesses[0]).toMatchObject({ id: "CWE-79", usage: expect.any(String) });
        const byWords = (await shield.app.inject({ method: "GET", url: "/api/v1/cwe?q=sql%20injection", headers: viewer.auth })).json();
        expect(byWords.weaknesses.map((w: { id: string }) => w.id)).toContain("CWE-89");
        expect(byWords.weaknesses.length).toBeLessThanOrEqual(20);
        expect((await shield.app.inject({ method: "GET", url: "/api/v1/cwe?q=", headers: viewer.auth })).statusCode).toBe(400);
        expect((await shield.app.inject({ method: "GET", url: "/api/v1/cwe?q=xss" })).statusCode).toBe(401);
      });
    });
  });

  describe("the report list: search, filters and the queue order", () => {
    let shield: TestShield;
    let triager: Member;
    let other: Member;
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    const ids: Record<string, number> = {};

    const submit = async (name: string, overrides: Partial<SubmitReportBody>) => {
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput(overrides) });
      expect(response.statusCode).toBe(201);
      ids[name] = response.json().id;
    };
    const list = async (query: string, headers: Record<string, string> = triager.auth) => {
      const response = await shield.app.inject({ method: "GET", url: `/api/v1/reports${query}`, headers });
      expect(response.statusCode, response.body).toBe(200);
      return response.json() as { total: number; reports: Array<{ id: number; nextDeadlineAt: string | null }> };
    };
    const idsOf = (body: { reports: Array<{ id: number }> }) => body.reports.map((r) => r.id);

    beforeAll(async () => {
      shield = await createTestShield(kind, { clock });
      triager = await shield.addMember("triager");
      other = await shield.addMember("admin");
      // A day ago: a vulnerability (72-hour first response: 47 hours left).
      await submit("vulnerability", { channel: "vulnerability", title: "Directory traversal in the export endpoint", description: "GET /export?file=../../etc/passwd returns the file." });
      clock.advance(23 * HOUR);
      // A closed report: no deadline, last in the queue.
      await submit("spam", { channel: "vulnerability", title: "Buy cheap watches", description: "Visit our shop." });
      // An hour ago: an account under attack (2-hour first response: 1 hour left).
      await submit("attack", { channel: "account_attack", title: "Someone is resetting my password", description: "I get mailbombed with reset e-mails for my account." });
      clock.advance(HOUR);
      await shield.app.inject({ method: "POST", url: `/api/v1/reports/${ids.spam}/transitions`, headers: triager.auth, payload: { to: "spam", reason: "Advertising." } });
      await shield.app.inject({ method: "POST", url: `/api/v1/reports/${ids.attack}/messages`, headers: other.auth, payload: { body: "Locking the account now, the tokenizer rotation follows.", internal: true } });
      await shield.app.inject({ method: "PATCH", url: `/api/v1/reports/${ids.vulnerability}`, headers: triager.auth, payload: { severity: "high", ownerEmail: triager.member.email } });
    });
    afterAll(async () => shield.destroy());

    it("puts an account_attack report received an hour ago before a vulnerability report received a day ago", async () => {
      const body = await list("?sort=deadline");
      expect(idsOf(body)).toEqual([ids.attack, ids.vulnerability, ids.spam]);
      expect(body.reports[0]!.nextDeadlineAt).toBe("2026-03-03T10:00:00.000Z");
      expect(body.reports[1]!.nextDeadlineAt).toBe("2026-03-05T09:00:00.000Z");
      expect(body.reports[2]!.nextDeadlineAt).toBeNull();
    });

    it("pages the queue order, each report on exactly one page", async () => {
      const pages = [];
      for (const offset of [0, 1, 2]) pages.push(...idsOf(await list(`?sort=deadline&limit=1&offset=${offset}`)));
      expect(pages).toEqual([ids.attack, ids.vulnerability, ids.spam]);
      expect(idsOf(await list("?sort=deadline&state=new,acknowledged,triaged"))).toEqual([ids.attack, ids.vulnerability]);
    });

    it("moves a report in the queue when it is acknowledged", async () => {
      const id = ids.attack!;
      const before = (await list("?sort=deadline")).reports.find((r) => r.id === id)!.nextDeadlineAt;
      const reply = await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/messages`, headers: triager.auth, payload: { body: "We locked the account." } });
      expect(reply.json().state).toBe("acknowledged");
      const after = (await list("?sort=deadline")).reports.find((r) => r.id === id)!.nextDeadlineAt;
      // First response met: the 4-hour triage target is next.
      expect(before).toBe("2026-03-03T10:00:00.000Z");
      expect(after).toBe("2026-03-03T12:00:00.000Z");
    });

    it("finds words in titles, descriptions and messages, all words required, the last as a prefix", async () => {
      expect(idsOf(await list("?q=traversal"))).toEqual([ids.vulnerability]);
      expect(idsOf(await list("?q=etc%20passwd"))).toEqual([ids.vulnerability]);
      expect(idsOf(await list("?q=tokenizer"))).toEqual([ids.attack]);
      expect(idsOf(await list("?q=mailbombed%20tokenizer"))).toEqual([ids.attack]);
      expect(idsOf(await list("?q=Password%20RES"))).toEqual([ids.attack]);
      expect(idsOf(await list("?q=traversal%20watches"))).toEqual([]);
      expect((await list("?q=export&sort=deadline")).total).toBe(1);
      const bad = await shield.app.inject({ method: "GET", url: "/api/v1/reports?q=%22%27%2A", headers: triager.auth });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.fields.q).toMatch(/word/);
    });

    it("treats search syntax in a query as plain words", async () => {
      for (const q of ['traversal" OR "watches', "traversal* NEAR(watches)", "traversal & !watches", "traversal:*"]) {
        const body = await list(`?q=${encodeURIComponent(q)}`);
        expect(body.reports.every((r) => r.id !== ids.spam)).toBe(true);
      }
    });

    it("filters by owner and severity", async () => {
      expect(idsOf(await list("?owner=me"))).toEqual([ids.attack, ids.vulnerability].sort((a, b) => b! - a!));
      expect(idsOf(await list(`?owner=${encodeURIComponent(triager.member.email)}&severity=high`))).toEqual([ids.vulnerability]);
      expect(idsOf(await list("?owner=none"))).toEqual([ids.spam]);
      expect(idsOf(await list("?severity=critical,low"))).toEqual([]);
      const unknown = await shield.app.inject({ method: "GET", url: "/api/v1/reports?owner=nobody%40example.org", headers: triager.auth });
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().error.fields.owner).toMatch(/team member/);
    });
  });
});
