import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { HttpApp } from "../../platform/http/app.js";
import { DomainError, UserNotFoundError } from "../../shared/errors.js";
import { createInvite, describeAccount, requireSession, sessionOf, type AuthContext } from "../../modules/auth/index.js";
import { actorOf, addTeamMember, changeMemberRole, disableMember, findUserById, listUsers, ROLES } from "../../modules/people/index.js";
import { formField, sendPage } from "./team-pages.js";

const idParams = z.object({ id: z.coerce.number().int().positive() });

const DONE: Record<string, string> = {
  role: "Role changed.",
  disabled: "Member disabled; their sessions and tokens no longer work.",
};

interface MembersPageState {
  /** The refused form (`add-member`, `member-<id>`), its posted values and errors. */
  failed?: { form: string; values: Record<string, string>; errors: Record<string, string> };
  invite?: { email: string; url: string; expiresAt: string; added: boolean };
  status?: number;
}

/**
 * The one members page (`/team/members`): every member sees who is on the team; admins
 * add members (with an invite link), change roles, make invite links and disable members.
 * Every form is CSRF-checked and works without JavaScript.
 */
export function registerTeamMemberRoutes(app: HttpApp, deps: { auth: AuthContext }): void {
  const { auth } = deps;
  const csrf = app.csrfProtection;
  const member = requireSession(auth, "signed_in");
  const admin = requireSession(auth, "admin");

  const membersPage = async (request: FastifyRequest, reply: FastifyReply, state: MembersPageState = {}) => {
    const me = sessionOf(request).member;
    const done = (request.query as Record<string, unknown> | undefined)?.done;
    const members = await Promise.all(
      (await listUsers(auth.db)).map(async (m) => ({
        ...m,
        disabled: m.disabledAt !== null,
        isMe: m.id === me.id,
        ready: (await describeAccount(auth, m)).totpEnrolledAt !== null,
      })),
    );
    return sendPage(
      reply,
      "team-members",
      {
        title: "Team members",
        csrf: reply.csrfToken(),
        canManage: me.role === "admin",
        members,
        roles: ROLES,
        notice: typeof done === "string" ? DONE[done] : undefined,
        failed: state.failed,
        invite: state.invite,
      },
      state.status ?? 200,
    );
  };

  /** A refused change: the page again, the error next to the field of the form that failed. */
  const refused = (request: FastifyRequest, reply: FastifyReply, form: string, values: Record<string, string>, error: unknown) => {
    if (error instanceof DomainError && (error.kind === "invalid" || error.kind === "conflict" || error.kind === "not_found")) {
      const errors = error.fields && Object.keys(error.fields).length ? error.fields : { [form === "add-member" ? "email" : "role"]: error.message };
      return membersPage(request, reply, { failed: { form, values, errors }, status: error.kind === "not_found" ? 404 : error.kind === "conflict" ? 409 : 400 });
    }
    throw error;
  };

  const inviteShown = (invite: { url: string; expiresAt: string }, email: string, added: boolean) => ({ email, url: invite.url, expiresAt: invite.expiresAt.slice(0, 16).replace("T", " "), added });

  app.get("/team/members", { schema: { hide: true }, preHandler: member }, async (request, reply) => membersPage(request, reply));

  app.post("/team/members", { schema: { hide: true }, preHandler: [csrf, admin] }, async (request, reply) => {
    const values = { email: formField(request.body, "email", 320), name: formField(request.body, "name", 200), role: formField(request.body, "role", 20) };
    const actor = actorOf(sessionOf(request).member);
    try {
      const added = await addTeamMember(auth.db, auth.clock, actor, { email: values.email, name: values.name.trim() || undefined, role: values.role });
      const invite = await createInvite(auth, actor, added.email, auth.baseUrl());
      return membersPage(request, reply, { invite: inviteShown(invite, added.email, true) });
    } catch (error) {
      return refused(request, reply, "add-member", values, error);
    }
  });

  app.post("/team/members/:id/role", { schema: { hide: true, params: idParams }, preHandler: [csrf, admin] }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof idParams>;
    const role = formField(request.body, "role", 20);
    try {
      await changeMemberRole(auth.db, auth.clock, actorOf(sessionOf(request).member), id, role);
      return reply.code(303).redirect(`/team/members?done=role#member-${id}`);
    } catch (error) {
      return refused(request, reply, `member-${id}`, { role }, error);
    }
  });

  app.post("/team/members/:id/disable", { schema: { hide: true, params: idParams }, preHandler: [csrf, admin] }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof idParams>;
    try {
      await disableMember(auth.db, auth.clock, actorOf(sessionOf(request).member), id);
      return reply.code(303).redirect(`/team/members?done=disabled#member-${id}`);
    } catch (error) {
      return refused(request, reply, `member-${id}`, {}, error);
    }
  });

  app.post("/team/members/:id/invite", { schema: { hide: true, params: idParams }, preHandler: [csrf, admin] }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof idParams>;
    const target = await findUserById(auth.db, id);
    if (!target) throw UserNotFoundError(String(id));
    const invite = await createInvite(auth, actorOf(sessionOf(request).member), target.email, auth.baseUrl());
    return membersPage(request, reply, { invite: inviteShown(invite, target.email, false) });
  });
}
