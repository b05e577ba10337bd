/** Team roles, from least to most powerful. Reporters have no account. */
export const ROLES = ["viewer", "triager", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do; every route names the permission it needs. */
export type Permission = "reports:read" | "reports:write" | "admin";

const GRANTS: Record<Role, readonly Permission[]> = {
  viewer: ["reports:read"],
  triager: ["reports:read", "reports:write"],
  admin: ["reports:read", "reports:write", "admin"],
};

export function hasPermission(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

export interface TeamMember {
  id: number;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
  disabledAt: string | null;
}

/**
 * Whether a member may own reports: an enabled triager or admin. They are also the team
 * that hears of reports (new reports, alerts, pages).
 */
export function mayOwnReports(member: Pick<TeamMember, "role" | "disabledAt">): boolean {
  return member.disabledAt == null && hasPermission(member.role, "reports:write");
}

/** API tokens are recognisable in logs and secret scanners by their prefix. */
export const TOKEN_PREFIX = "shd_";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
