import type { Db, Tx } from "../../platform/db/database.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { DomainError, UserNotFoundError, ValidationError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { ROLES, type Role, type TeamMember } from "./people.js";
import { findUserById } from "./people.repository.js";

/** Nobody could manage the team or settings any more: refused, so a desk never locks itself out. */
const LastAdminError = () => new DomainError("last_admin", "conflict", "This is the last active admin; make someone else an admin first.", { role: "this is the last active admin; the team needs at least one, so make someone else an admin first" });

async function countActiveAdmins(tx: Tx): Promise<number> {
  const row = await tx
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("role", "=", "admin")
    .where("disabled_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Gives a member another role, audited. Their sessions and tokens carry the new role at
 * their next request (both are checked against the member row each time).
 * @throws ValidationError for an unknown role, UserNotFoundError, DomainError last_admin (409)
 */
export async function changeMemberRole(db: Db, clock: Clock, actor: Actor, memberId: number, role: string): Promise<TeamMember> {
  if (!(ROLES as readonly string[]).includes(role)) throw ValidationError("The role is not valid.", { role: `must be one of ${ROLES.join(", ")}` });
  return db.transaction().execute(async (tx) => {
    const member = await findUserById(tx, memberId);
    if (!member) throw UserNotFoundError(String(memberId));
    if (member.role === role) return member;
    if (member.role === "admin" && !member.disabledAt && (await countActiveAdmins(tx)) <= 1) throw LastAdminError();
    const at = isoNow(clock);
    await tx.updateTable("users").set({ role }).where("id", "=", memberId).execute();
    await appendAuditEvent(tx, actor, { action: "user.role_changed", subjectType: "user", subjectId: String(memberId), data: { from: member.role, to: role } }, at);
    return { ...member, role: role as Role };
  });
}

/**
 * Disables a member, audited: their sessions end at their next request, their API
 * tokens and invite links stop working. The row stays, for the audit log and reports.
 * @throws UserNotFoundError, DomainError last_admin (409)
 */
export async function disableMember(db: Db, clock: Clock, actor: Actor, memberId: number): Promise<TeamMember> {
  return db.transaction().execute(async (tx) => {
    const member = await findUserById(tx, memberId);
    if (!member) throw UserNotFoundError(String(memberId));
    if (member.disabledAt) return member;
    if (member.role === "admin" && (await countActiveAdmins(tx)) <= 1) throw LastAdminError();
    const at = isoNow(clock);
    await tx.updateTable("users").set({ disabled_at: at }).where("id", "=", memberId).execute();
    await appendAuditEvent(tx, actor, { action: "user.disabled", subjectType: "user", subjectId: String(memberId), data: { email: member.email } }, at);
    return { ...member, disabledAt: at };
  });
}
