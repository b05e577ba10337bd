import path from "node:path";
import { z } from "zod";

/**
 * Every setting Shield reads from the environment, in one schema. Each entry's
 * `describe()` is the one-line documentation the README table is checked against.
 * A bad value stops start-up with a message naming the variable and what is allowed.
 */
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const boolFlag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

export const configSchema = z.object({
  SHIELD_HOST: z.string().min(1).default("127.0.0.1").describe("Address the HTTP server listens on."),
  SHIELD_PORT: port.default(8080).describe("Port the HTTP server listens on (0 picks a free one)."),
  SHIELD_DATA_DIR: z.string().min(1).default("./data").describe("Directory for the SQLite database, attachments, keys and the mail outbox."),
  DATABASE_URL: z
    .string()
    .min(1)
    .optional()
    .describe("`postgres://…` for PostgreSQL, or a SQLite file path. Default: `<data dir>/shield.db`."),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, "must be an smtp:// or smtps:// URL")
    .optional()
    .describe("Outgoing mail server, e.g. `smtp://user:pass@mail.example.com:587`. Unset: mail is written as .eml files under `<data dir>/outbox/`."),
  SHIELD_MAIL_FROM: z.string().min(3).optional().describe("From address of outgoing mail. Default: the program's security contact."),
  SHIELD_BASE_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe("Public URL of Shield, used in links it sends (tracking links, setup link). Default: `http://<host>:<port>`."),
  SHIELD_LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("Log level of the JSON logs on standard output."),
  SHIELD_INTAKE_RATE_LIMIT: positiveInt
    .default(10)
    .describe("Reports one client address may submit per minute through the public intake."),
  SHIELD_API_RATE_LIMIT: positiveInt.default(600).describe("Requests one client address may make per minute to any other route (API and pages)."),
  SHIELD_MAX_BODY_BYTES: positiveInt
    .default(1_048_576)
    .describe("Largest JSON request body accepted, in bytes; larger ones are answered 413."),
  SHIELD_WORKER: boolFlag.default(true).describe("Run the outbox worker in this process (`false` for a web-only process)."),
  SHIELD_WORKER_POLL_MS: positiveInt.default(1000).describe("How often the outbox worker looks for due jobs, in milliseconds."),
  SHIELD_TRUST_PROXY: boolFlag
    .default(false)
    .describe("Trust `X-Forwarded-*` headers from a reverse proxy (client address for rate limits, https for cookies)."),
});

export type Config = z.infer<typeof configSchema> & {
  /** Absolute data directory. */
  dataDir: string;
  /** Resolved database location: a postgres URL or an absolute SQLite file path. */
  database: { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };
  baseUrl: string;
};

export class ConfigError extends Error {
  readonly code = "invalid_config";
}

/** @throws ConfigError naming every variable that is wrong and what it allows. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    picked[key] = value === "" ? undefined : value;
  }
  const parsed = configSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      return `  ${name}=${JSON.stringify(picked[name] ?? "")}: ${issue.message}`;
    });
    throw new ConfigError(`Shield cannot start, these settings are wrong:\n${lines.join("\n")}`);
  }
  const values = parsed.data;
  const dataDir = path.resolve(values.SHIELD_DATA_DIR);
  const url = values.DATABASE_URL;
  const database: Config["database"] =
    url && /^postgres(ql)?:\/\//.test(url)
      ? { kind: "postgres", url }
      : { kind: "sqlite", file: url ? path.resolve(url.replace(/^sqlite:(\/\/)?/, "")) : path.join(dataDir, "shield.db") };
  const host = values.SHIELD_HOST.includes(":") ? `[${values.SHIELD_HOST}]` : values.SHIELD_HOST;
  const baseUrl = (values.SHIELD_BASE_URL ?? `http://${host}:${values.SHIELD_PORT}`).replace(/\/+$/, "");
  return { ...values, dataDir, database, baseUrl };
}

/** Rows for the README's settings table, generated from the schema. */
export function describeSettings(): Array<{ name: string; description: string; default: string }> {
  const defaults = configSchema.parse({});
  return Object.entries(configSchema.shape).map(([name, schema]) => ({
    name,
    description: schema.description ?? "",
    default: (defaults as Record<string, unknown>)[name] === undefined ? "" : String((defaults as Record<string, unknown>)[name]),
  }));
}
