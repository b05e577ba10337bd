export { DEFAULT_SETTINGS, describeDuration, settingsSchema, type Settings } from "./settings.js";
export { businessCalendarSchema, isValidTimeZone, WEEKDAYS, type BusinessCalendar } from "./settings.js";
export { updateSetting, SettingsReader } from "./settings.service.js";
export { readSetting, writeSetting, deleteSetting } from "./settings.repository.js";
