import type { Db } from "../../platform/db/database.js";
import { generateSecret, hashSecret, safeEqual } from "../../platform/crypto/secrets.js";
import type { Clock } from "../../shared/clock.js";
import { SetupClosedError } from "../../shared/errors.js";
import { deleteSetting, readSetting, writeSetting } from "../settings/index.js";
import { countUsers } from "./people.repository.js";
import { addTeamMember } from "./people.service.js";
import type { TeamMember } from "./people.js";

const SETUP_KEY = "internal.setupTokenHash";

/**
 * While Shield has no team member, each start makes a new one-time setup secret and
 * returns it (the previous link stops working). Returns null once someone exists.
 */
export async function openSetupIfNeeded(db: Db, clock: Clock): Promise<string | null> {
  if ((await countUsers(db)) > 0) return null;
  const token = generateSecret(24);
  await writeSetting(db, SETUP_KEY, hashSecret(token), clock.now().toISOString());
  return token;
}

/** @throws SetupClosedError when the link is unknown, used, or the team exists already */
export async function checkSetupToken(db: Db, token: string): Promise<void> {
  const stored = await readSetting(db, SETUP_KEY);
  if (typeof stored !== "string" || !safeEqual(stored, hashSecret(token)) || (await countUsers(db)) > 0) throw SetupClosedError();
}

/**
 * Creates the first admin and closes the setup link. The admin is not usable yet: the
 * auth module sets their password and enrols their authenticator, and hands out the
 * API token once that is done (auth/account.service.ts, completeFirstAdminSetup).
 * @throws SetupClosedError, ValidationError
 */
export async function completeSetup(db: Db, clock: Clock, token: string, input: { email: string; name: string }): Promise<TeamMember> {
  await checkSetupToken(db, token);
  const member = await addTeamMember(db, clock, { kind: "system" }, { ...input, role: "admin" });
  await deleteSetting(db, SETUP_KEY);
  return member;
}
