export { hasPermission, mayOwnReports, ROLES, normalizeEmail, type Permission, type Role, type TeamMember } from "./people.js";
export { actorOf, addTeamMember, authenticateBearer, createApiToken, requirePermission, revokeMemberTokens, listUsers, countUsers, findUserByEmail, type AuthenticatedMember } from "./people.service.js";
export { listApiTokens, revokeApiToken, MAX_TOKEN_DAYS, type ApiToken, type ApiTokenState } from "./people.service.js";
export { findUserById } from "./people.repository.js";
export { requireTeam, memberOf } from "./auth.hook.js";
export { openSetupIfNeeded, checkSetupToken, completeSetup, closeSetup } from "./setup.service.js";
export { changeMemberRole, disableMember } from "./member-admin.service.js";
