import type { Db } from "../../platform/db/database.js";
import { ValidationError } from "../../shared/errors.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { DEFAULT_SETTINGS, settingsSchema, type SettingKey, type Settings } from "./settings.js";
import { readStoredSettings, writeSetting } from "./settings.repository.js";

/** Stored values over the defaults. A stored value that no longer parses falls back to its default. */
export async function loadSettings(db: Db): Promise<Settings> {
  const stored = await readStoredSettings(db);
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(settingsSchema.shape) as SettingKey[]) {
    if (!(key in stored)) continue;
    const parsed = settingsSchema.shape[key].safeParse(stored[key]);
    if (parsed.success) merged[key] = parsed.data;
  }
  return merged as Settings;
}

/**
 * Changes one setting, audited.
 * @throws ValidationError when the key is unknown or the value does not fit it
 */
export async function updateSetting(db: Db, clock: Clock, actor: Actor, key: string, value: unknown): Promise<Settings> {
  if (!(key in settingsSchema.shape)) {
    throw ValidationError(`Unknown setting ${key}.`, { key: `one of ${Object.keys(settingsSchema.shape).join(", ")}` });
  }
  const schema = settingsSchema.shape[key as SettingKey];
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw ValidationError(`Setting ${key} is not valid.`, { [key]: parsed.error.issues.map((i) => `${i.path.join(".") || key}: ${i.message}`).join("; ") });
  }
  await db.transaction().execute(async (tx) => {
    const at = isoNow(clock);
    await writeSetting(tx, key, parsed.data, at);
    await appendAuditEvent(tx, actor, { action: "setting.updated", subjectType: "setting", subjectId: key, data: { value: parsed.data } }, at);
  });
  return loadSettings(db);
}

/**
 * Settings read on every request come from here: a copy at most `ttlMs` old, so that a
 * change made by another process shows within seconds without a query per request.
 */
export class SettingsCache {
  private value: Settings | undefined;
  private loadedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 5000,
  ) {}

  async get(): Promise<Settings> {
    if (!this.value || Date.now() - this.loadedAt > this.ttlMs) {
      this.value = await loadSettings(this.db);
      this.loadedAt = Date.now();
    }
    return this.value;
  }

  invalidate(): void {
    this.value = undefined;
  }
}
