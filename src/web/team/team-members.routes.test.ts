import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, TestBrowser, totpCodeAt, type EnrolledMember } from "../../../test/sign-in.js";

forEachDatabase((kind) => {
  describe("the one members page", () => {
    let shield: TestShield;
    let clock: FakeClock;
    let admin: EnrolledMember;
    let ip = 0;

    beforeAll(async () => {
      clock = new FakeClock();
      shield = await createTestShield(kind, { clock });
      admin = await addEnrolledMember(shield, clock, "admin");
    });
    afterAll(async () => shield.destroy());

    const signedIn = async (who: EnrolledMember) => {
      clock.advance(30_000);
      const b = new TestBrowser(shield, `198.51.100.${++ip}`);
      expect((await b.signIn(who.member.email, who.password, await totpCodeAt(who.secret, clock))).statusCode).toBe(303);
      return b;
    };
    const rowOf = (html: string, email: string) => [...parseHtml(html).querySelectorAll("tbody tr")].find((tr) => tr.textContent?.includes(email))!;

    it("adds a member with an invite link, changes their role and disables them", async () => {
      const b = await signedIn(admin);
      await b.get("/team/members");
      const added = await b.post("/team/members", { email: "New.Person@Acme.test", name: "New Person", role: "viewer" });
      expect(added.statusCode).toBe(200);
      expect(parseHtml(added.body).querySelector("#invite-link")?.textContent).toMatch(/^https:\/\/security\.example\.test\/invite\/.+/);
      const id = rowOf(b.lastPage, "new.person@acme.test").id.replace("member-", "");
      expect((rowOf(b.lastPage, "new.person@acme.test").querySelector("select") as HTMLSelectElement).value).toBe("viewer");

      const changed = await b.post(`/team/members/${id}/role`, { role: "triager" });
      expect(changed.statusCode).toBe(303);
      await b.get(changed.headers.location as string);
      expect((rowOf(b.lastPage, "new.person@acme.test").querySelector("select") as HTMLSelectElement).value).toBe("triager");
      expect(parseHtml(b.lastPage).querySelector("[role=status]")?.textContent).toBe("Role changed.");

      const disabled = await b.post(`/team/members/${id}/disable`, {});
      expect(disabled.statusCode).toBe(303);
      await b.get("/team/members");
      expect(rowOf(b.lastPage, "new.person@acme.test").textContent).toContain("disabled");
      const actions = (await shield.database.db.selectFrom("audit_events").select("action").where("subject_type", "=", "user").where("subject_id", "=", id).execute()).map((a) => a.action);
      expect(actions).toEqual(expect.arrayContaining(["user.added", "auth.invite_created", "user.role_changed", "user.disabled"]));
    });

    it("refuses an invalid address and a duplicate member next to the field, and never demotes the last admin", async () => {
      const b = await signedIn(admin);
      await b.get("/team/members");
      const bad = await b.post("/team/members", { email: "nobody", name: "", role: "viewer" });
      expect(bad.statusCode).toBe(400);
      expect(parseHtml(bad.body).querySelector("#member-email-error")?.textContent).toMatch(/^E-mail address: /);
      expect((parseHtml(bad.body).querySelector("#member-email") as HTMLInputElement).value).toBe("nobody");
      const twice = await b.post("/team/members", { email: admin.member.email, name: "", role: "viewer" });
      expect(twice.statusCode).toBe(409);
      expect(parseHtml(twice.body).querySelector("#member-email-error")?.textContent).toMatch(/already exists/);

      const demote = await b.post(`/team/members/${admin.member.id}/role`, { role: "viewer" });
      expect(demote.statusCode).toBe(409);
      expect(parseHtml(demote.body).querySelector(`#role-${admin.member.id}-error`)?.textContent).toMatch(/last active admin/);
    });

    it("shows every member the team without the admin's forms, and refuses a member's post", async () => {
      const viewer = await addEnrolledMember(shield, clock, "viewer");
      const b = await signedIn(viewer);
      const page = await b.get("/team/members");
      expect(page.statusCode).toBe(200);
      const doc = parseHtml(page.body);
      expect(rowOf(page.body, admin.member.email).textContent).toContain("admin");
      expect(doc.querySelectorAll("main form")).toHaveLength(0);
      expect((await b.post("/team/members", { email: "sneaky@acme.test", name: "", role: "admin" })).statusCode).toBe(403);
      expect(await shield.database.db.selectFrom("users").select("id").where("email", "=", "sneaky@acme.test").execute()).toEqual([]);
    });

    it("is the only place members are managed: the settings page links there", async () => {
      const b = await signedIn(admin);
      const settings = parseHtml((await b.get("/desk/settings")).body);
      expect(settings.querySelector("main form[action^='/desk/settings/members']")).toBeNull();
      expect(settings.querySelector("main a[href='/team/members']")).not.toBeNull();
      const old = await b.post("/desk/settings/members", { email: "old.way@acme.test", name: "", role: "viewer" });
      expect(old.statusCode).toBe(404);
    });
  });
});
