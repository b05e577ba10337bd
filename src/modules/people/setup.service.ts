import type { Db, Executor } from "../../platform/db/database.js";
import { generateSecret, hashSecret, safeEqual } from "../../platform/crypto/secrets.js";
import type { Clock } from "../../shared/clock.js";
import { SetupClosedError, ValidationError } from "../../shared/errors.js";
import { deleteSetting, readSetting, writeSetting } from "../settings/index.js";
import { countCompleteAdmins, findUserByEmail } from "./people.repository.js";
import { addTeamMember } from "./people.service.js";
import { normalizeEmail, type TeamMember } from "./people.js";

const SETUP_KEY = "internal.setupTokenHash";

/**
 * While Shield has no complete admin (enabled, second factor confirmed), each start makes
 * a new one-time setup secret and returns it (the previous link stops working): a setup
 * left half-way (password set, browser closed before the authenticator) never locks the
 * team out. Returns null once a complete admin exists.
 */
export async function openSetupIfNeeded(db: Db, clock: Clock): Promise<string | null> {
  if ((await countCompleteAdmins(db)) > 0) return null;
  const token = generateSecret(24);
  await writeSetting(db, SETUP_KEY, hashSecret(token), clock.now().toISOString());
  return token;
}

/** @throws SetupClosedError when the link is unknown, replaced by a newer one, or a complete admin exists */
export async function checkSetupToken(db: Db, token: string): Promise<void> {
  const stored = await readSetting(db, SETUP_KEY);
  if (typeof stored !== "string" || !safeEqual(stored, hashSecret(token)) || (await countCompleteAdmins(db)) > 0) throw SetupClosedError();
}

/**
 * The first admin of the setup: created on the first try, the same one when the link is
 * opened again with the same address after an interrupted setup. The link stays open: it
 * closes when the admin confirms their authenticator (`closeSetup`). The admin is not
 * usable until then: the auth module sets their password and enrols their authenticator,
 * and hands out the API token once that is done (auth/account.service.ts,
 * completeFirstAdminSetup).
 * @throws SetupClosedError, ValidationError
 */
export async function completeSetup(db: Db, clock: Clock, token: string, input: { email: string; name: string }): Promise<TeamMember> {
  await checkSetupToken(db, token);
  const existing = await findUserByEmail(db, normalizeEmail(input.email));
  if (!existing) return addTeamMember(db, clock, { kind: "system" }, { ...input, role: "admin" });
  if (existing.role !== "admin" || existing.disabledAt) {
    throw ValidationError("Please correct the fields below.", { email: "belongs to a team member who is not an admin: use another address, or their invite link" });
  }
  return existing;
}

/** Closes the setup link: its admin is complete. Inside the transaction that completes them. */
export async function closeSetup(db: Executor): Promise<void> {
  await deleteSetting(db, SETUP_KEY);
}
