import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { DEFAULT_SETTINGS } from "../settings/index.js";
import { revokeMemberTokens } from "../people/index.js";
import { markBrowserEncrypted } from "../browser-encryption/index.js";
import { encryptAndSign } from "../../platform/crypto/openpgp.js";
import type { SubmitReportBody } from "../intake/index.js";

type Member = Awaited<ReturnType<TestShield["addMember"]>>;

/** The `.eml` files of the file mailer, by name. */
function outbox(shield: TestShield): Map<string, string> {
  const dir = path.join(shield.dataDir, "outbox");
  if (!fs.existsSync(dir)) return new Map();
  return new Map(fs.readdirSync(dir).filter((f) => f.endsWith(".eml")).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
}

/** Quoted-printable soft line breaks undone, so that text can be searched as written. */
const unwrap = (eml: string) => eml.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

forEachDatabase((kind) => {
  describe("GET /api/v1/reports", () => {
    let shield: TestShield;
    let triager: Member;
    const ids: Record<string, number[]> = { vulnerability: [], account_attack: [], sensitive: [] };

    beforeAll(async () => {
      shield = await createTestShield(kind);
      triager = await shield.addMember("triager");
      const channels: SubmitReportBody["channel"][] = ["vulnerability", "account_attack", "vulnerability", "sensitive", "vulnerability", "account_attack"];
      for (const channel of channels) {
        const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel }) });
        ids[channel]!.push(response.json().id);
      }
      const acknowledged = await shield.app.inject({
        method: "POST",
        url: `/api/v1/reports/${ids.vulnerability![1]}/transitions`,
        headers: triager.auth,
        payload: { to: "acknowledged", reason: "Reproduced the first step." },
      });
      expect(acknowledged.statusCode).toBe(200);
    });
    afterAll(async () => shield.destroy());

    const list = (query: string) => shield.app.inject({ method: "GET", url: `/api/v1/reports${query}`, headers: triager.auth });

    it("lists every report, newest first, with the total", async () => {
      const response = await list("");
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body).toMatchObject({ total: 6, limit: 50, offset: 0 });
      const all = Object.values(ids).flat().sort((a, b) => b - a);
      expect(body.reports.map((r: { id: number }) => r.id)).toEqual(all);
      expect(body.reports[0]).toMatchObject({ state: "new", channel: "account_attack", ownerId: null, deadlines: { firstResponse: expect.any(String) } });
      expect(body.reports[0]).not.toHaveProperty("description");
    });

    it("filters by channel", async () => {
      const body = (await list("?channel=account_attack")).json();
      expect(body.total).toBe(2);
      expect(body.reports.map((r: { id: number }) => r.id).sort()).toEqual([...ids.account_attack!].sort());
      const two = (await list("?channel=sensitive,account_attack")).json();
      expect(two.total).toBe(3);
      expect(new Set(two.reports.map((r: { channel: string }) => r.channel))).toEqual(new Set(["sensitive", "account_attack"]));
    });

    it("filters by state, alone and with a channel", async () => {
      const acknowledged = (await list("?state=acknowledged")).json();
      expect(acknowledged.total).toBe(1);
      expect(acknowledged.reports[0]).toMatchObject({ id: ids.vulnerability![1], state: "acknowledged", ownerId: triager.member.id });
      const newVulnerabilities = (await list("?state=new&channel=vulnerability")).json();
      expect(newVulnerabilities.total).toBe(2);
      expect(newVulnerabilities.reports.map((r: { id: number }) => r.id).sort()).toEqual([ids.vulnerability![0], ids.vulnerability![2]].sort());
      expect((await list("?state=triaged")).json()).toMatchObject({ total: 0, reports: [] });
    });

    it("pages with limit and offset, each report on exactly one page", async () => {
      const pages = [];
      for (const offset of [0, 2, 4, 6]) {
        const body = (await list(`?limit=2&offset=${offset}`)).json();
        expect(body).toMatchObject({ total: 6, limit: 2, offset });
        pages.push(body.reports.map((r: { id: number }) => r.id));
      }
      expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 0]);
      expect(pages.flat()).toEqual(Object.values(ids).flat().sort((a, b) => b - a));
      const filtered = (await list("?channel=vulnerability&limit=2&offset=2")).json();
      expect(filtered).toMatchObject({ total: 3, limit: 2, offset: 2 });
      expect(filtered.reports.map((r: { id: number }) => r.id)).toEqual([ids.vulnerability![0]]);
    });

    it("pages newest first with `before` (the last id of the page), each report on exactly one page, with the filters", async () => {
      const pages: number[][] = [];
      let before: number | undefined;
      for (;;) {
        const body = (await list(`?limit=2${before === undefined ? "" : `&before=${before}`}`)).json();
        // The total is that of the whole list, whichever page.
        expect(body.total).toBe(6);
        if (body.reports.length === 0) break;
        pages.push(body.reports.map((r: { id: number }) => r.id));
        before = pages.at(-1)!.at(-1);
      }
      expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
      expect(pages.flat()).toEqual(Object.values(ids).flat().sort((a, b) => b - a));
      const vulnerabilities = [...ids.vulnerability!].sort((a, b) => b - a);
      const filtered = (await list(`?channel=vulnerability&before=${vulnerabilities[0]}`)).json();
      expect(filtered.reports.map((r: { id: number }) => r.id)).toEqual(vulnerabilities.slice(1));
    });

    it("refuses `before` with the queue order or a search, and offsets past 10,000, saying what to do instead", async () => {
      expect((await list("?sort=deadline&before=5")).json().error.fields.before).toBe("pages only the newest-first list without `q`");
      expect((await list("?q=password&before=5")).json().error.fields.before).toBe("pages only the newest-first list without `q`");
      expect((await list("?before=0")).json().error.fields).toHaveProperty("before");
      expect((await list("?offset=10000")).statusCode).toBe(200);
      const deep = await list("?offset=10001");
      expect(deep.statusCode).toBe(400);
      expect(deep.json().error.fields.offset).toBe("must be at most 10000: page further with `before` (newest first), or narrow the filters");
    });

    it("refuses unknown filters and out-of-range paging with a 400 naming the field", async () => {
      const badState = await list("?state=new,closed");
      expect(badState.statusCode).toBe(400);
      // The field names the bad value's place in the comma-separated list.
      expect(badState.json().error.fields["state.1"]).toMatch(/expected one of "new"\|"acknowledged"/);
      expect((await list("?limit=0")).json().error.fields).toHaveProperty("limit");
      expect((await list("?limit=201")).statusCode).toBe(400);
      expect((await list("?offset=-1")).json().error.fields).toHaveProperty("offset");
      expect((await list("?sort=title")).json().error.fields).toHaveProperty("sort");
    });
  });

  describe("reading and moving one report", () => {
    let shield: TestShield;
    let triager: Member;
    let viewer: Member;

    beforeAll(async () => {
      shield = await createTestShield(kind);
      triager = await shield.addMember("triager");
      viewer = await shield.addMember("viewer");
    });
    afterAll(async () => shield.destroy());

    const submit = async (overrides: Partial<SubmitReportBody> = {}) => {
      const input = buildReportInput(overrides);
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: input });
      expect(response.statusCode).toBe(201);
      return { id: response.json().id as number, input };
    };
    const read = (id: number, headers: Record<string, string> = triager.auth) => shield.app.inject({ method: "GET", url: `/api/v1/reports/${id}`, headers });
    const move = (id: number, payload: Record<string, unknown>, headers: Record<string, string> = triager.auth) =>
      shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/transitions`, headers, payload });
    const auditOf = (id: number) =>
      shield.database.db.selectFrom("audit_events").selectAll().where("subject_type", "=", "report").where("subject_id", "=", String(id)).orderBy("seq").execute();
    const updateJobsOf = async (id: number) =>
      (await shield.database.db.selectFrom("jobs").selectAll().where("kind", "=", "mail.report_update").execute()).filter((j) => JSON.parse(j.payload).reportId === id);

    it("shows a report with its body and reporter to the team, and audits the read with the member as actor", async () => {
      const { id, input } = await submit({ steps: "1. open\n2. look", asset: "app.example.com" });
      const response = await read(id);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        id,
        state: "new",
        title: input.title,
        description: input.description,
        steps: "1. open\n2. look",
        asset: "app.example.com",
        reporter: { name: input.reporter.name, email: input.reporter.email, pgpKey: null },
        messages: [],
        milestones: { acknowledgedAt: null, closedAt: null, pausedMs: 0 },
      });
      const viewed = (await auditOf(id)).filter((e) => e.action === "report.viewed");
      expect(viewed).toHaveLength(1);
      expect(viewed[0]!.actor).toBe(`user:${triager.member.id}:${triager.member.email}`);
    });

    it("records a move as a move, not as a read: the answer to a transition is the report's view without a report.viewed event", async () => {
      const { id } = await submit();
      const moved = await move(id, { to: "acknowledged", reason: "seen" });
      expect(moved.statusCode).toBe(200);
      expect(moved.json()).toMatchObject({ id, state: "acknowledged" });
      const actions = (await auditOf(id)).map((e) => e.action);
      expect(actions).toContain("report.transitioned");
      expect(actions).not.toContain("report.viewed");
      // The same view a read gives (one schema, one answer).
      const { updatedAt: _readAt, ...readView } = (await read(id)).json();
      const { updatedAt: _movedAt, ...movedView } = moved.json();
      expect(movedView).toEqual(readView);
      expect((await auditOf(id)).filter((e) => e.action === "report.viewed")).toHaveLength(1);
    });

    it("answers 404 report_not_found for a report that does not exist, without an audit event", async () => {
      const before = await shield.database.db.selectFrom("audit_head").select("seq").executeTakeFirstOrThrow();
      const response = await read(999_999);
      expect(response.statusCode).toBe(404);
      expect(response.json().error).toMatchObject({ code: "report_not_found", message: "Report 999999 does not exist." });
      expect((await shield.database.db.selectFrom("audit_head").select("seq").executeTakeFirstOrThrow()).seq).toBe(before.seq);
    });

    it("makes the member who acknowledges a report its owner, and records who and why", async () => {
      const { id } = await submit();
      const response = await move(id, { to: "acknowledged", reason: "Looks real; on it." });
      expect(response.statusCode).toBe(200);
      const report = response.json();
      expect(report).toMatchObject({ id, state: "acknowledged", ownerId: triager.member.id });
      expect(Date.parse(report.milestones.acknowledgedAt)).not.toBeNaN();
      const moved = (await auditOf(id)).filter((e) => e.action === "report.transitioned");
      expect(moved).toHaveLength(1);
      expect(moved[0]!.actor).toBe(`user:${triager.member.id}:${triager.member.email}`);
      expect(JSON.parse(moved[0]!.data)).toMatchObject({ from: "new", to: "acknowledged", reason: "Looks real; on it.", ownerId: triager.member.id });
      expect(await updateJobsOf(id)).toHaveLength(1);
    });

    it("answers an illegal move with 409 illegal_transition and a readable reason, and changes nothing", async () => {
      const { id } = await submit();
      const headBefore = await shield.database.db.selectFrom("audit_head").select("seq").executeTakeFirstOrThrow();
      const response = await move(id, { to: "resolved", reason: "Fixed already." });
      expect(response.statusCode).toBe(409);
      expect(response.json().error).toEqual({
        code: "illegal_transition",
        message: "A report cannot go from new to resolved: from new it can only go to acknowledged, duplicate, informative, not_applicable, spam, routed_to_support.",
      });
      const row = await shield.database.db.selectFrom("reports").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: "new", owner_id: null, resolved_at: null });
      expect((await shield.database.db.selectFrom("audit_head").select("seq").executeTakeFirstOrThrow()).seq).toBe(headBefore.seq);
      expect(await updateJobsOf(id)).toHaveLength(0);
    });

    it("refuses to ask the reporter for information without saying what is needed, and mails nobody", async () => {
      const { id } = await submit();
      expect((await move(id, { to: "acknowledged", reason: "mine" })).statusCode).toBe(200);
      const jobsBefore = (await updateJobsOf(id)).length;
      const response = await move(id, { to: "needs_info", reason: "unclear" });
      expect(response.statusCode).toBe(409);
      expect(response.json().error).toEqual({
        code: "illegal_transition",
        message: "A report cannot go from acknowledged to needs_info: say what you need from the reporter (message): they are asked to answer it.",
      });
      // A blank message is refused at the edge.
      expect((await move(id, { to: "needs_info", reason: "unclear", message: "  " })).statusCode).toBe(400);
      const row = await shield.database.db.selectFrom("reports").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: "acknowledged", needs_info_since: null });
      expect(await updateJobsOf(id)).toHaveLength(jobsBefore);
      const asked = await move(id, { to: "needs_info", reason: "unclear", message: "Which version do you run?" });
      expect(asked.statusCode).toBe(200);
      expect(asked.json()).toMatchObject({ state: "needs_info" });
      expect(await updateJobsOf(id)).toHaveLength(jobsBefore + 1);
    });

    it("refuses to triage without a severity, to disclose without an advisory, and a duplicate of itself", async () => {
      const { id } = await submit();
      expect((await move(id, { to: "acknowledged", reason: "mine" })).statusCode).toBe(200);
      const noSeverity = await move(id, { to: "triaged", reason: "valid" });
      expect(noSeverity.statusCode).toBe(409);
      expect(noSeverity.json().error.message).toBe("A report cannot go from acknowledged to triaged: a triaged report needs a severity.");
      const itself = await move(id, { to: "duplicate", reason: "seen", duplicateOf: id });
      expect(itself.statusCode).toBe(409);
      expect(itself.json().error.message).toMatch(/cannot duplicate itself/);
      const missing = await move(id, { to: "duplicate", reason: "seen", duplicateOf: 999_999 });
      expect(missing.statusCode).toBe(400);
      expect(missing.json().error.fields).toEqual({ duplicateOf: "must be an existing report" });
      expect((await move(id, { to: "triaged", reason: "valid", severity: "high" })).statusCode).toBe(200);
      expect((await move(id, { to: "resolved", reason: "patched in 4.2.1" })).statusCode).toBe(200);
      const disclose = await move(id, { to: "disclosed", reason: "published" });
      expect(disclose.statusCode).toBe(409);
      expect(disclose.json().error.message).toMatch(/only by publishing an advisory/);
      expect((await read(id)).json().state).toBe("resolved");
    });

    it("closes a report as a duplicate of another one", async () => {
      const first = await submit();
      const { id } = await submit();
      const response = await move(id, { to: "duplicate", reason: "same as the first", duplicateOf: first.id });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ state: "duplicate", duplicateOf: first.id, milestones: { closedAt: expect.any(String) } });
    });

    it("tells the reporter the canned response when a report is closed without a message, by e-mail through the outbox", async () => {
      const { id, input } = await submit({ title: "Clickjacking on the login page" });
      const response = await move(id, { to: "informative", reason: "Login page sends frame-ancestors already." });
      expect(response.statusCode).toBe(200);
      const report = response.json();
      expect(report.state).toBe("informative");
      expect(Date.parse(report.milestones.closedAt)).not.toBeNaN();
      expect(report.messages).toEqual([{ id: expect.any(Number), author: "team", body: DEFAULT_SETTINGS.cannedResponses.informative, internal: false, createdAt: report.milestones.closedAt }]);

      const jobs = await updateJobsOf(id);
      expect(jobs).toHaveLength(1);
      expect(JSON.parse(jobs[0]!.payload)).toMatchObject({ reportId: id, from: "new", to: "informative", messageId: report.messages[0].id });
      await shield.worker.drain();
      const mails = [...outbox(shield)].filter(([name]) => name.startsWith(`update-${id}-`));
      expect(mails).toHaveLength(1);
      const eml = unwrap(mails[0]![1]);
      expect(eml).toContain(`To: ${input.reporter.email}`);
      expect(eml).toContain(`Subject: [#${id}] Update on your report: Clickjacking on the login page`);
      expect(eml).toContain("Closed: useful information, but no fix is needed.");
      expect(eml).toContain(DEFAULT_SETTINGS.cannedResponses.informative);
      expect(eml).not.toContain("Login page sends frame-ancestors already.");
    });

    it("sends the team's own message instead of the canned response when there is one", async () => {
      const { id } = await submit();
      const response = await move(id, { to: "not_applicable", reason: "internal: out of scope", message: "This host belongs to a partner; we passed it on." });
      expect(response.json().messages.map((m: { body: string }) => m.body)).toEqual(["This host belongs to a partner; we passed it on."]);
      await shield.worker.drain();
      const eml = unwrap([...outbox(shield)].find(([name]) => name.startsWith(`update-${id}-`))![1]);
      expect(eml).toContain("This host belongs to a partner; we passed it on.");
      expect(eml).not.toContain(DEFAULT_SETTINGS.cannedResponses.not_applicable);
    });

    it("forwards the report and its public thread to the support address when routed to support, without internal notes", async () => {
      const { id, input } = await submit({ channel: "sensitive", title: "How do I change my invoice address?", description: "I cannot find the invoice settings." });
      await shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/messages`, headers: triager.auth, payload: { body: "Internal: billing question, not ours.", internal: true } });
      const response = await move(id, { to: "routed_to_support", reason: "billing question" });
      expect(response.statusCode).toBe(200);
      await shield.worker.drain();
      const mails = [...outbox(shield)].filter(([name]) => name.startsWith(`support-forward-${id}-`));
      expect(mails).toHaveLength(1);
      const eml = unwrap(mails[0]![1]);
      expect(eml).toContain(`To: ${DEFAULT_SETTINGS.supportEmail}`);
      expect(eml).toContain(`Reply-To: ${input.reporter.email}`);
      expect(eml).toContain("I cannot find the invoice settings.");
      expect(eml).toContain(DEFAULT_SETTINGS.cannedResponses.routed_to_support);
      expect(eml).not.toContain("Internal: billing question");
    });

    it("gives a report to the named owner, but never to a viewer or to someone unknown", async () => {
      const { id } = await submit();
      const other = await shield.addMember("triager");
      const toViewer = await move(id, { to: "acknowledged", reason: "assign", ownerEmail: viewer.member.email });
      expect(toViewer.statusCode).toBe(400);
      expect(toViewer.json().error).toMatchObject({ code: "owner_not_allowed", fields: { ownerEmail: "must be a triager or an admin" } });
      const unknown = await move(id, { to: "acknowledged", reason: "assign", ownerEmail: "nobody@team.example.test" });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error.code).toBe("user_not_found");
      expect((await read(id)).json()).toMatchObject({ state: "new", ownerId: null });
      const toOther = await move(id, { to: "acknowledged", reason: "assign", ownerEmail: other.member.email.toUpperCase() });
      expect(toOther.statusCode).toBe(200);
      expect(toOther.json().ownerId).toBe(other.member.id);
    });

    it("tells a new owner by mail when someone else gives them the report, with a link to its desk page, and nobody who took it themselves", async () => {
      const { id } = await submit({ title: "Owner mail" });
      const other = await shield.addMember("triager");
      await move(id, { to: "acknowledged", reason: "mine" });
      await shield.worker.drain();
      const ownerMails = () => [...outbox(shield)].filter(([name]) => name.startsWith(`team-owner_assigned-${id}-`)).map(([, eml]) => unwrap(eml));
      expect(ownerMails()).toEqual([]);
      const patched = await shield.app.inject({ method: "PATCH", url: `/api/v1/reports/${id}`, headers: triager.auth, payload: { ownerEmail: other.member.email } });
      expect(patched.statusCode, patched.body).toBe(200);
      await shield.worker.drain();
      const [mail] = ownerMails();
      expect(mail).toContain(`To: ${other.member.email}`);
      expect(mail).toContain(`Subject: [#${id}] You own this report now: Owner mail`);
      expect(mail).toContain(`made you the owner of this report`);
      expect(mail).toContain(`/desk/reports/${id}`);
      // Given back to the first triager with a move by the new owner: they hear of it too.
      expect((await move(id, { to: "needs_info", reason: "ask", message: "Which version?", ownerEmail: triager.member.email }, other.auth)).statusCode).toBe(200);
      await shield.worker.drain();
      expect(ownerMails().filter((m) => m.includes(`To: ${triager.member.email}`))).toHaveLength(1);
    });

    it("asks for a reason with every move", async () => {
      const { id } = await submit();
      const response = await move(id, { to: "acknowledged" });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields).toEqual({ reason: "is required" });
      expect((await move(id, { to: "acknowledged", reason: "   " })).json().error.fields.reason).toMatch(/say why/);
    });

    it("lets a viewer read reports but not move them", async () => {
      const { id } = await submit();
      expect((await shield.app.inject({ method: "GET", url: "/api/v1/reports", headers: viewer.auth })).statusCode).toBe(200);
      expect((await read(id, viewer.auth)).statusCode).toBe(200);
      const response = await move(id, { to: "acknowledged", reason: "me" }, viewer.auth);
      expect(response.statusCode).toBe(403);
      expect(response.json().error).toEqual({ code: "forbidden", message: "A viewer cannot do this; it needs a triager or an admin." });
      expect((await read(id)).json().state).toBe("new");
    });

    it("answers 401 without a token, with an unknown or revoked token, and with a malformed Authorization header", async () => {
      const { id } = await submit();
      const revoked = await shield.addMember("triager");
      expect((await read(id, revoked.auth)).statusCode).toBe(200);
      await revokeMemberTokens(shield.database.db, { now: () => new Date() }, { kind: "cli" }, revoked.member.email);

      const attempts: Array<Record<string, string>> = [
        {},
        revoked.auth,
        { authorization: "Bearer shd_notarealtokenatallnotarealtokenatall000" },
        { authorization: `Basic ${Buffer.from(`${triager.member.email}:${triager.token}`).toString("base64")}` },
        { authorization: "Bearer" },
        { authorization: `Bearer ${triager.token} extra` },
        { authorization: triager.token },
      ];
      for (const headers of attempts) {
        for (const response of [
          await shield.app.inject({ method: "GET", url: "/api/v1/reports", headers }),
          await read(id, headers),
          await move(id, { to: "acknowledged", reason: "x" }, headers),
        ]) {
          expect(response.statusCode, JSON.stringify(headers)).toBe(401);
          expect(response.json().error.code).toBe("unauthenticated");
        }
      }
      expect((await read(id)).json().state).toBe("new");
    });
  });

  describe("routing a report that arrived encrypted to support", () => {
    let shield: TestShield;
    let triager: Member;
    let teamPublicKey: string;

    beforeAll(async () => {
      shield = await createTestShield(kind);
      triager = await shield.addMember("triager");
      teamPublicKey = (await shield.app.inject({ method: "GET", url: "/security/pgp-key.asc" })).body;
    });
    afterAll(async () => shield.destroy());

    const SECRET = "My invoice address changed to 12 Hidden Lane; where do I update it?";
    /** A report as the form stores one the reporter's browser encrypted: ciphertext to the team key, marked. */
    const submitEncrypted = async () => {
      const ciphertext = await encryptAndSign(new TextEncoder().encode(SECRET), teamPublicKey, undefined, new Date());
      const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel: "sensitive", title: "Invoice address", description: ciphertext }) });
      expect(response.statusCode).toBe(201);
      const id = response.json().id as number;
      await markBrowserEncrypted(shield.database.db, id, []);
      return id;
    };
    const move = (id: number, payload: Record<string, unknown>) =>
      shield.app.inject({ method: "POST", url: `/api/v1/reports/${id}/transitions`, headers: triager.auth, payload });
    const mailsOf = (prefix: string) => [...outbox(shield)].filter(([name]) => name.startsWith(prefix)).map(([, eml]) => unwrap(eml));
    const actionsOf = async (id: number) =>
      (await shield.database.db.selectFrom("audit_events").select(["action", "data"]).where("subject_type", "=", "report").where("subject_id", "=", String(id)).orderBy("seq").execute()).map((e) => ({
        action: e.action,
        data: JSON.parse(e.data ?? "null"),
      }));

    it("refuses to route it without the team's choice (409 support_handover_required) and sends nothing", async () => {
      const id = await submitEncrypted();
      const response = await move(id, { to: "routed_to_support", reason: "billing question" });
      expect(response.statusCode).toBe(409);
      expect(response.json().error).toMatchObject({ code: "support_handover_required", fields: { supportHandover: expect.any(String) } });
      expect(response.json().error.message).toContain("arrived encrypted");
      await shield.worker.drain();
      expect(mailsOf(`support-forward-${id}-`)).toEqual([]);
      expect(mailsOf(`update-${id}-`)).toEqual([]);
      expect((await shield.app.inject({ method: "GET", url: `/api/v1/reports/${id}`, headers: triager.auth })).json().state).toBe("new");
    });

    it("forwards a decrypted copy when the triager chooses it, never the ciphertext, and the audit log says who sent clear text where", async () => {
      const id = await submitEncrypted();
      const response = await move(id, { to: "routed_to_support", reason: "billing question", supportHandover: "forward_decrypted" });
      expect(response.statusCode, response.body).toBe(200);
      await shield.worker.drain();
      const [forwarded] = mailsOf(`support-forward-${id}-`);
      expect(forwarded).toContain(SECRET);
      expect(forwarded).not.toContain("BEGIN PGP MESSAGE");
      const audit = await actionsOf(id);
      expect(audit.find((e) => e.action === "report.support_copy_decrypted")?.data).toMatchObject({ to: DEFAULT_SETTINGS.supportEmail, browserEncrypted: true, reason: "billing question" });
      expect(audit.find((e) => e.action === "report.transitioned")?.data).toMatchObject({ to: "routed_to_support", supportHandover: "forward_decrypted" });
    });

    it("sends support nothing when the triager replies to the reporter instead, and tells the reporter where to write", async () => {
      const id = await submitEncrypted();
      const response = await move(id, { to: "routed_to_support", reason: "billing question", supportHandover: "reply_to_reporter" });
      expect(response.statusCode, response.body).toBe(200);
      await shield.worker.drain();
      expect(mailsOf(`support-forward-${id}-`)).toEqual([]);
      const [update] = mailsOf(`update-${id}-`);
      expect(update).toContain(`please write to ${DEFAULT_SETTINGS.supportEmail}`);
      expect(update).not.toMatch(/forwarded/i);
      expect((await actionsOf(id)).map((e) => e.action)).not.toContain("report.support_copy_decrypted");
    });

    it("asks the same of a report that came as PGP mail, which is stored decrypted", async () => {
      const { id } = (await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ channel: "sensitive" }) })).json() as { id: number };
      await shield.database.db
        .insertInto("inbound_messages")
        .values({
          dedup_key: `test-${id}`,
          via: "smtp",
          message_id_header: null,
          raw_sha256: "0".repeat(64),
          raw_size: 1,
          envelope_from: null,
          envelope_to: "[]",
          remote_address: null,
          from_address: null,
          subject: null,
          received_at: new Date().toISOString(),
          outcome: "report",
          report_id: id,
          thread_message_id: null,
          notes: "[]",
          details: JSON.stringify({ encryption: { encrypted: true, decrypted: true } }),
        })
        .execute();
      const refused = await move(id, { to: "routed_to_support", reason: "billing question" });
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.message).toContain("as PGP mail");
      expect((await move(id, { to: "routed_to_support", reason: "billing question", supportHandover: "forward_decrypted" })).statusCode).toBe(200);
      expect((await actionsOf(id)).find((e) => e.action === "report.support_copy_decrypted")?.data).toMatchObject({ mailEncrypted: true, browserEncrypted: false });
    });

    it("refuses a hand-over choice with any other move (400)", async () => {
      const id = await submitEncrypted();
      const response = await move(id, { to: "spam", reason: "spam", supportHandover: "reply_to_reporter" });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.fields).toMatchObject({ supportHandover: "is only for routed_to_support" });
    });
  });

  describe("searching reports by their reporter", () => {
    let shield: TestShield;
    let triager: Member;
    beforeAll(async () => {
      shield = await createTestShield(kind);
      triager = await shield.addMember("triager");
    });
    afterAll(async () => shield.destroy());

    it("finds reports by the reporter's name and e-mail address", async () => {
      const submit = async (name: string, email: string) =>
        (await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ reporter: { name, email } }) })).json().id as number;
      const hamilton = await submit("Margaret Hamilton", "m.hamilton@apollo.example");
      await submit("Ada Lovelace", "ada@engine.example");
      for (const q of ["m.hamilton@apollo.example", "Hamilton", "margaret ham", "apollo.example"]) {
        const found = await shield.app.inject({ method: "GET", url: `/api/v1/reports?q=${encodeURIComponent(q)}`, headers: triager.auth });
        expect(found.json().reports.map((r: { id: number }) => r.id), q).toEqual([hamilton]);
      }
    });
  });

  describe("operations endpoints", () => {
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind);
    });
    afterAll(async () => shield.destroy());

    it("publishes an OpenAPI 3 document with the report paths and the bearer scheme", async () => {
      const response = await shield.app.inject({ method: "GET", url: "/api/v1/openapi.json" });
      expect(response.statusCode).toBe(200);
      const doc = response.json();
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(["/api/v1/reports", "/api/v1/reports/{id}", "/api/v1/reports/{id}/transitions", "/api/v1/jobs", "/api/v1/jobs/{id}/retry"]),
      );
      expect(doc.paths["/api/v1/reports"].get.security).toEqual([{ bearer: [] }]);
      expect(doc.paths["/api/v1/reports/{id}/transitions"].post.security).toEqual([{ bearer: [] }]);
      expect(doc.paths["/api/v1/reports"].post.security).toBeUndefined();
      expect(doc.paths["/api/v1/reports"].post.requestBody.content["application/json"].schema.required).toEqual(
        expect.arrayContaining(["channel", "title", "description", "reporter"]),
      );
      expect(Object.keys(doc.paths)).not.toContain("/healthz");
    });

    it("answers /healthz and /readyz with 200", async () => {
      const health = await shield.app.inject({ method: "GET", url: "/healthz" });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toEqual({ status: "ok" });
      const ready = await shield.app.inject({ method: "GET", url: "/readyz" });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: "ready" });
    });
  });
});
