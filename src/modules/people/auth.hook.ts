import type { FastifyRequest } from "fastify";
import type { Db } from "../../platform/db/database.js";
import type { Clock } from "../../shared/clock.js";
import type { Permission } from "./people.js";
import { authenticateBearer, requirePermission, type AuthenticatedMember } from "./people.service.js";

declare module "fastify" {
  interface FastifyRequest {
    member?: AuthenticatedMember;
  }
}

/** A preHandler that lets through only a bearer token whose member holds `permission`. */
export function requireTeam(db: Db, clock: Clock, permission: Permission) {
  return async (request: FastifyRequest) => {
    const member = await authenticateBearer(db, clock, request.headers.authorization);
    requirePermission(member, permission);
    request.member = member;
  };
}

export function memberOf(request: FastifyRequest): AuthenticatedMember {
  if (!request.member) throw new Error("route is missing its requireTeam hook");
  return request.member;
}
