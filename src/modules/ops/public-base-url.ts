import type { Executor } from "../../platform/db/database.js";
import type { Clock } from "../../shared/clock.js";
import { readSetting, writeSetting } from "../settings/index.js";

const PUBLIC_BASE_URL_KEY = "internal.publicBaseUrl";

/**
 * `serve` records the public base URL it answers on (SHIELD_BASE_URL, or its own address),
 * so that links other processes print (`shield user add`, `user invite`) open on it without
 * the operator repeating SHIELD_PORT or SHIELD_BASE_URL in the CLI's environment.
 */
export async function recordPublicBaseUrl(db: Executor, clock: Clock, baseUrl: string): Promise<void> {
  await writeSetting(db, PUBLIC_BASE_URL_KEY, baseUrl, clock.now().toISOString());
}

/** The base URL the server last recorded, if it ever started on this database. */
export async function readPublicBaseUrl(db: Executor): Promise<string | undefined> {
  const value = await readSetting(db, PUBLIC_BASE_URL_KEY);
  return typeof value === "string" ? value : undefined;
}
