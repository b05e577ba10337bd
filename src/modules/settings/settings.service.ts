import type { Db } from "../../platform/db/database.js";
import { ValidationError } from "../../shared/errors.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { DEFAULT_SETTINGS, settingsSchema, type SettingKey, type Settings } from "./settings.js";
import { readStoredSettingTexts, writeSetting } from "./settings.repository.js";

/** The settings last worked out, with the stored text they came from. */
let lastParsed: { texts: string; settings: Settings } | undefined;

/**
 * Stored values over the defaults. A stored value that no longer parses falls back to its default.
 * Reads the stored text every time (another process may have changed it) but parses it only
 * when it changed: every report submitted needs the settings, for its queue deadline. The
 * result is frozen, since the next caller with the same text gets the same object.
 */
export async function loadSettings(db: Db): Promise<Settings> {
  const rows = await readStoredSettingTexts(db);
  const texts = JSON.stringify(rows);
  if (lastParsed?.texts === texts) return lastParsed.settings;
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const row of rows) {
    if (!(row.key in settingsSchema.shape)) continue;
    const parsed = settingsSchema.shape[row.key as SettingKey].safeParse(JSON.parse(row.value));
    if (parsed.success) merged[row.key] = parsed.data;
  }
  const settings = deepFreeze(merged) as Settings;
  lastParsed = { texts, settings };
  return settings;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
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
