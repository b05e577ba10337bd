import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShield, runShieldJson } from "../../../test/cli.js";
import { DAY, FakeClock, HOUR } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";

forEachDatabase((kind) => {
  describe("API tokens: list, revoke one, expiry", () => {
    let shield: TestShield;
    let env: Record<string, string>;
    const clock = new FakeClock("2026-03-02T09:00:00.000Z");
    beforeAll(async () => {
      shield = await createTestShield(kind, { clock });
      env = { DATABASE_URL: shield.testDatabase.url, SHIELD_DATA_DIR: shield.dataDir };
    });
    afterAll(async () => shield.destroy());

    const reports = (token: string) => shield.app.inject({ method: "GET", url: "/api/v1/reports", headers: { authorization: `Bearer ${token}` } });
    const api = (token: string, method: "GET" | "POST" | "DELETE", url: string, payload?: object) =>
      shield.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });

    it("a token made to expire works until then and is refused after, and the list says which", async () => {
      const triager = await shield.addMember("triager");
      const created = await api(triager.token, "POST", "/api/v1/tokens", { name: "ci", expiresInDays: 1 });
      expect(created.statusCode).toBe(201);
      const token = created.json();
      expect(token).toMatchObject({ name: "ci", state: "active", email: triager.member.email, expiresAt: "2026-03-03T09:00:00.000Z", revokedAt: null });
      expect(token.token.startsWith(token.prefix)).toBe(true);
      expect((await reports(token.token)).statusCode).toBe(200);

      clock.advance(DAY - HOUR);
      expect((await reports(token.token)).statusCode).toBe(200);
      clock.advance(HOUR);
      const refused = await reports(token.token);
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error.message).toContain("has expired");
      // The member's token without expiry still works, and the list tells the two apart.
      const listed = (await api(triager.token, "GET", "/api/v1/tokens")).json().tokens;
      expect(listed.map((t: { id: number; state: string; expiresAt: string | null }) => [t.id, t.state, t.expiresAt])).toEqual([
        [token.id, "expired", "2026-03-03T09:00:00.000Z"],
        [expect.any(Number), "active", null],
      ]);
      expect(JSON.stringify(listed)).not.toContain(token.token);

      const badExpiry = await api(triager.token, "POST", "/api/v1/tokens", { expiresInDays: 0 });
      expect(badExpiry.statusCode).toBe(400);
    });

    it("revokes one token and leaves the others working; someone else's is not found, except for an admin", async () => {
      const viewer = await shield.addMember("viewer");
      const admin = await shield.addMember("admin");
      const second = (await api(viewer.token, "POST", "/api/v1/tokens", { name: "laptop" })).json();

      const byAdminList = await api(viewer.token, "GET", "/api/v1/tokens?all=true");
      expect(byAdminList.statusCode).toBe(403);
      const othersToken = await api(admin.token, "DELETE", `/api/v1/tokens/${second.id}`);
      expect(othersToken.statusCode).toBe(200);
      expect(othersToken.json()).toMatchObject({ id: second.id, state: "revoked" });
      expect((await reports(second.token)).statusCode).toBe(401);
      expect((await reports(viewer.token)).statusCode).toBe(200);

      const adminOwn = (await api(admin.token, "POST", "/api/v1/tokens", { name: "admin's" })).json();
      const notMine = await api(viewer.token, "DELETE", `/api/v1/tokens/${adminOwn.id}`);
      expect(notMine.statusCode).toBe(404);
      expect(notMine.json().error.code).toBe("api_token_not_found");
      expect((await reports(adminOwn.token)).statusCode).toBe(200);

      const team = (await api(admin.token, "GET", "/api/v1/tokens?all=true")).json().tokens;
      expect(team.map((t: { email: string }) => t.email)).toEqual(expect.arrayContaining([viewer.member.email, admin.member.email]));
      const audit = await shield.database.db.selectFrom("audit_events").select(["action", "data"]).where("action", "=", "token.revoked").execute();
      expect(audit.some((e) => String(e.data).includes(`"tokenId":${second.id}`))).toBe(true);
    });

    it("shield token create --expires-in, token list and token revoke ID do the same from the command line", async () => {
      const member = await shield.addMember("triager");
      // The CLI runs on the real clock: a token made for 2 days expires 2 days from now.
      const created = await runShieldJson(["token", "create", member.member.email, "--name", "deploy", "--expires-in", "2"], env);
      expect(Date.parse(created.expiresAt) - Date.now()).toBeGreaterThan(2 * DAY - HOUR);
      const listed = await runShieldJson(["token", "list", member.member.email], env);
      expect(listed.map((t: { id: number; name: string; state: string }) => [t.id, t.name, t.state])).toEqual([
        [created.id, "deploy", "active"],
        [expect.any(Number), "api", "active"],
      ]);
      const human = await runShield(["token", "list", member.member.email], env);
      expect(human.stdout).toContain(`"deploy"`);
      expect(human.stdout).not.toContain(created.token);

      const revoked = await runShieldJson(["token", "revoke", String(created.id)], env);
      expect(revoked).toMatchObject({ id: created.id, state: "revoked" });
      expect((await reports(created.token)).statusCode).toBe(401);
      expect((await reports(member.token)).statusCode).toBe(200);

      const unknown = await runShield(["token", "revoke", "999999", "--json"], env);
      expect(unknown.code).toBe(1);
      expect(JSON.parse(unknown.stdout).error.code).toBe("api_token_not_found");
      const badDays = await runShield(["token", "create", member.member.email, "--expires-in", "soon", "--json"], env);
      expect(badDays.code).toBe(1);
      expect(JSON.parse(badDays.stdout).error).toEqual({ code: "invalid_arguments", message: expect.stringContaining("--expires-in must be a whole number of days") });
    });
  });
});
