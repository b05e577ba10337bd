import type { Db, Executor } from "../../platform/db/database.js";
import { ValidationError } from "../../shared/errors.js";
import { isoNow, type Clock } from "../../shared/clock.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { DEFAULT_SETTINGS, settingsSchema, type SettingKey, type Settings } from "./settings.js";
import { readStoredSettingTexts, writeSetting } from "./settings.repository.js";

/**
 * The one way to read the program settings: made once per process (main.ts) or per CLI
 * command, and handed to whatever needs settings through its dependencies. A copy at most
 * `ttlMs` old is handed out, so that a change made by another process shows within seconds
 * without a query per request or job; a change made through this reader (`updateSetting`)
 * shows at once. Stored values lie over the defaults, and a stored value that no longer
 * parses falls back to its default. The settings are frozen: every caller gets the same object.
 */
export class SettingsReader {
  private value: Settings | undefined;
  private texts: string | undefined;
  private loadedAt = 0;

  constructor(
    /** The database the settings are read from and written to (keyed for the audit log). */
    readonly db: Db,
    private readonly ttlMs = 5000,
  ) {}

  /**
   * The current settings. `within` is the transaction the caller is in, if any: on SQLite
   * a read outside it would wait for the one connection the transaction holds.
   */
  async get(within: Executor = this.db): Promise<Settings> {
    if (!this.value || performance.now() - this.loadedAt > this.ttlMs) {
      const rows = await readStoredSettingTexts(within);
      const texts = JSON.stringify(rows);
      // Parsed again only when the stored text changed.
      if (!this.value || texts !== this.texts) {
        this.value = parseSettings(rows);
        this.texts = texts;
      }
      this.loadedAt = performance.now();
    }
    return this.value;
  }

  /** The next `get` reads the database again. */
  invalidate(): void {
    this.loadedAt = -Infinity;
  }
}

function parseSettings(rows: { key: string; value: string }[]): Settings {
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const row of rows) {
    if (!(row.key in settingsSchema.shape)) continue;
    const parsed = settingsSchema.shape[row.key as SettingKey].safeParse(JSON.parse(row.value));
    if (parsed.success) merged[row.key] = parsed.data;
  }
  return deepFreeze(merged) as Settings;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Changes one setting, audited, and returns the settings with it: the reader shows the
 * change at once (other processes' readers within their time to live).
 * @throws ValidationError when the key is unknown or the value does not fit it
 */
export async function updateSetting(settings: SettingsReader, clock: Clock, actor: Actor, key: string, value: unknown): Promise<Settings> {
  if (!(key in settingsSchema.shape)) {
    throw ValidationError(`Unknown setting ${key}.`, { key: `one of ${Object.keys(settingsSchema.shape).join(", ")}` });
  }
  const schema = settingsSchema.shape[key as SettingKey];
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw ValidationError(`Setting ${key} is not valid.`, { [key]: parsed.error.issues.map((i) => `${i.path.join(".") || key}: ${i.message}`).join("; ") });
  }
  await settings.db.transaction().execute(async (tx) => {
    const at = isoNow(clock);
    await writeSetting(tx, key, parsed.data, at);
    await appendAuditEvent(tx, actor, { action: "setting.updated", subjectType: "setting", subjectId: key, data: { value: parsed.data } }, at);
  });
  settings.invalidate();
  return settings.get();
}
