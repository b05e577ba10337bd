import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod";
import { ImapUrlError, parseImapUrl } from "./platform/mail/inbound/imap-url.js";

/**
 * Every setting Shield reads from the environment, in one schema. Each entry's
 * `describe()` is the one-line documentation the README table is checked against.
 * A bad value stops start-up with a message naming the variable and what is allowed.
 */
// Messages say what is allowed: "expected number, received NaN" helps no operator.
const PORT_RULE = "must be a port number from 0 to 65535";
const port = z.coerce.number({ error: PORT_RULE }).int(PORT_RULE).min(0, PORT_RULE).max(65535, PORT_RULE);
const POSITIVE_RULE = "must be a whole number greater than 0";
const positiveInt = z.coerce.number({ error: POSITIVE_RULE }).int(POSITIVE_RULE).positive(POSITIVE_RULE);
const boolFlag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

const TRUST_PROXY_RULE =
  "must be false, a number of proxy hops (true means 1), or a comma-separated list of the proxies' addresses or CIDR ranges (loopback, linklocal and uniquelocal name the usual ranges)";
const PROXY_RANGE_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address, prefix, extra] = entry.split("/");
  const family = isIP(address ?? "");
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Which `X-Forwarded-For` entries to believe. The client address is read from the right:
 * the last entry not written by a trusted proxy. `false`: none (the socket's address).
 * A hop count: that many proxies in front. Addresses: the proxies themselves. `true`,
 * which once believed every entry (the leftmost, which any client can write), now means
 * one hop: the entry the nearest proxy appended.
 */
const trustProxySetting = z.string().transform((value, ctx): false | number | string[] => {
  const text = value.trim();
  if (text === "false" || text === "0") return false;
  if (text === "true") return 1;
  if (/^\d+$/.test(text)) return Number(text);
  const entries = text.split(",").map((e) => e.trim());
  if (entries.length > 0 && entries.every(isProxyAddress)) return entries;
  ctx.addIssue({ code: "custom", message: TRUST_PROXY_RULE });
  return z.NEVER;
});
/**
 * A PostgreSQL URL that parses, or a file path. Any other scheme (`mysql://`, a typo such
 * as `postgress://` or `postgres:/host`) would otherwise become a SQLite file of that odd
 * name, and the operator would believe the data is in PostgreSQL.
 */
function isDatabaseLocation(value: string): boolean {
  if (/^postgres(ql)?:\/\//.test(value)) return URL.canParse(value);
  return !/^[A-Za-z][A-Za-z0-9+.-]+:/.test(value.replace(/^sqlite:(\/\/)?/, ""));
}
/** Strict base64 (standard or URL-safe) of exactly 32 bytes: the master key. */
const isBase64Of32Bytes = (v: string) => /^[A-Za-z0-9+/_-]{43}=?$/.test(v.trim()) && Buffer.from(v.trim(), "base64").length === 32;
/** Variables whose value is never echoed in an error message. */
const SECRET_VARIABLES = new Set(["SHIELD_MASTER_KEY"]);

/** A URL as it may be shown in an error: any password replaced by `***`. */
function withoutPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/i, "$1:***@");
}

export const configSchema = z.object({
  SHIELD_HOST: z.string().min(1).default("127.0.0.1").describe("Address the HTTP server listens on."),
  SHIELD_PORT: port.default(8080).describe("Port the HTTP server listens on (0 picks a free one)."),
  SHIELD_DATA_DIR: z.string().min(1).default("./data").describe("Directory for the SQLite database, attachments, keys and the mail outbox."),
  DATABASE_URL: z
    .string()
    .min(1)
    .refine(isDatabaseLocation, "must be a postgres:// (or postgresql://) URL, or a SQLite file path (optionally written sqlite:PATH)")
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
  SHIELD_RECEIPT_LIMIT: positiveInt
    .default(3)
    .describe("Receipts one e-mail address may get per window; later ones are mailed together in one digest when the window allows."),
  SHIELD_RECEIPT_WINDOW_MINUTES: positiveInt.default(60).describe("The window of SHIELD_RECEIPT_LIMIT, in minutes."),
  SHIELD_API_RATE_LIMIT: positiveInt.default(600).describe("Requests one client address may make per minute to any other route (API and pages)."),
  SHIELD_MAX_BODY_BYTES: positiveInt
    .default(1_048_576)
    .describe("Largest JSON request body accepted, in bytes; larger ones are answered 413."),
  SHIELD_WORKER: boolFlag.default(true).describe("Run the outbox worker in this process (`false` for a web-only process)."),
  SHIELD_WORKER_POLL_MS: positiveInt.default(1000).describe("How often the outbox worker looks for due jobs, in milliseconds."),
  SHIELD_JOB_RETENTION_DAYS: positiveInt
    .default(30)
    .describe("Done outbox jobs (mail sent, webhooks delivered) are deleted this many days after they finished; failed (`dead`) jobs are kept until retried."),
  SHIELD_TRUST_PROXY: trustProxySetting
    .default(false)
    .describe(
      "Which reverse proxies to believe in `X-Forwarded-*` headers (client address for rate limits, logs and the audit log; https): `false`, the proxies' addresses or CIDR ranges (`127.0.0.1`, `10.0.0.0/8,::1`, `loopback`), or a number of hops. The client address is the rightmost entry no trusted proxy wrote. `true` means 1 hop (it used to believe every entry).",
    ),
  SHIELD_MASTER_KEY: z
    .string()
    .refine((v) => isBase64Of32Bytes(v), "must be the base64 of exactly 32 bytes, e.g. the output of `openssl rand -base64 32`")
    .optional()
    .describe(
      "Base64 of 32 random bytes that encrypts secrets at rest (the team's private OpenPGP key, TOTP secrets, the tracking link a receipt job carries until it is sent) and keys the audit log's MACs and the forms' CSRF tokens. Default: `<data dir>/master.key`, created on first start. Processes sharing a database must share it; keep a copy outside the server.",
    ),
  SHIELD_ATTACHMENT_MAX_BYTES: positiveInt
    .default(10 * 1024 * 1024)
    .describe("Largest attachment a reporter may upload, in bytes, per file."),
  SHIELD_ATTACHMENT_MAX_FILES: positiveInt.default(5).describe("Most attachments a reporter may upload with one report or reply."),
  SHIELD_ATTACHMENT_MAX_TOTAL_BYTES: positiveInt
    .default(25 * 1024 * 1024)
    .describe("Largest total size of the attachments of one report or reply, in bytes."),
  SHIELD_SESSION_IDLE_MINUTES: positiveInt
    .default(30)
    .describe("A team member's session ends after this many minutes without a request."),
  SHIELD_SESSION_MAX_HOURS: positiveInt
    .default(12)
    .describe("A team member's session ends this many hours after sign-in, however active."),
  SHIELD_SIGN_IN_MAX_FAILURES: positiveInt
    .default(10)
    .describe("Failed sign-in attempts (password or second factor) per client address within the window, after which that address is refused; and per account from all addresses together, after which the account asks for password and code together (never locked) and its member is mailed once a window."),
  SHIELD_SIGN_IN_WINDOW_MINUTES: positiveInt
    .default(15)
    .describe("The window of `SHIELD_SIGN_IN_MAX_FAILURES`, in minutes."),
  SHIELD_SMTP_LISTEN: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "must be HOST:PORT, e.g. 0.0.0.0:25 or 127.0.0.1:2525")
    .refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535, "must name a port up to 65535")
    .optional()
    .describe("Run the SMTP listener on HOST:PORT for the program's addresses (off when unset). Mail for any other recipient is refused with 550."),
  SHIELD_SMTP_TLS_CERT: z.string().optional().describe("PEM certificate file for STARTTLS on the SMTP listener (with `SHIELD_SMTP_TLS_KEY`); unset: no STARTTLS."),
  SHIELD_SMTP_TLS_KEY: z.string().optional().describe("PEM private key file for STARTTLS on the SMTP listener."),
  SHIELD_MAIL_MAX_BYTES: positiveInt
    .default(40 * 1024 * 1024)
    .describe("Largest message the SMTP listener or IMAP poller takes, in bytes (announced with SIZE)."),
  SHIELD_SMTP_MAX_CONNECTIONS: positiveInt.default(10).describe("Open SMTP connections one client address may hold; more are answered 421 (try later)."),
  SHIELD_SMTP_MESSAGES_PER_MINUTE: positiveInt
    .default(60)
    .describe("Messages one client address may hand the SMTP listener per minute; more are deferred with 451, so the sending server retries."),
  SHIELD_IMAP_URL: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseImapUrl(value);
      } catch (error) {
        if (!(error instanceof ImapUrlError)) throw error;
        ctx.addIssue({ code: "custom", message: error.message });
      }
    })
    .optional()
    .describe(
      "A mailbox to take mail from, e.g. `imaps://user:password@imap.example.com/INBOX` (IDLE when offered). A message is marked seen once stored; `?move=FOLDER` moves it there, `?delete=true` deletes it. Off when unset.",
    ),
  SHIELD_IMAP_POLL_SECONDS: positiveInt
    .default(60)
    .describe("How often the IMAP poller looks at the mailbox when the server sends no news (IDLE), in seconds."),
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
      const shown = SECRET_VARIABLES.has(name) ? "(hidden)" : JSON.stringify(withoutPassword(picked[name] ?? ""));
      return `  ${name}=${shown}: ${issue.message}`;
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
  if (Boolean(values.SHIELD_SMTP_TLS_CERT) !== Boolean(values.SHIELD_SMTP_TLS_KEY)) {
    throw new ConfigError("Shield cannot start, these settings are wrong:\n  SHIELD_SMTP_TLS_CERT and SHIELD_SMTP_TLS_KEY: give both files for STARTTLS, or neither.");
  }
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
