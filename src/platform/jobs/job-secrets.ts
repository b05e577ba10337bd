import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from "kysely";
import { openSecret, sealSecret } from "../crypto/at-rest.js";
import type { Executor } from "../db/database.js";

/** Top-level payload fields with this prefix are secrets: sealed at rest, dropped when the job is done. */
export const SECRET_FIELD_PREFIX = "secret";

/** How a sealed field looks in a stored payload. */
interface SealedField {
  $sealed: string;
}

/**
 * The master key that seals the `secret*` fields of job payloads (the tracking token of a
 * receipt), carried on the database connection so that whoever enqueues a job inside a
 * transaction seals its secrets without holding the key: a copy of the database, its WAL
 * or a backup shows only ciphertext. It changes no query.
 */
export class JobSecretSealing implements KyselyPlugin {
  constructor(private readonly key: Uint8Array) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }

  seal(kind: string, field: string, value: unknown): SealedField {
    return { $sealed: sealSecret(this.key, JSON.stringify(value), contextOf(kind, field)) };
  }

  open(kind: string, field: string, sealed: SealedField): unknown {
    return JSON.parse(openSecret(this.key, sealed.$sealed, contextOf(kind, field)).toString("utf8"));
  }
}

function contextOf(kind: string, field: string): string {
  return `job-payload:${kind}:${field}`;
}

function sealingOf(db: Executor): JobSecretSealing | undefined {
  return db.getExecutor().plugins.find((plugin): plugin is JobSecretSealing => plugin instanceof JobSecretSealing);
}

function isSealed(value: unknown): value is SealedField {
  return typeof value === "object" && value !== null && typeof (value as SealedField).$sealed === "string";
}

/**
 * The payload as stored: every `secret*` field sealed.
 * @throws Error when there is a secret to seal and the connection carries no master key
 */
export function sealJobSecrets(db: Executor, kind: string, payload: Record<string, unknown>): Record<string, unknown> {
  const secretFields = Object.keys(payload).filter((key) => key.startsWith(SECRET_FIELD_PREFIX));
  if (secretFields.length === 0) return payload;
  const sealing = sealingOf(db);
  if (!sealing) throw new Error(`job ${kind} carries a secret, and this database connection has no master key to seal it with`);
  const stored = { ...payload };
  for (const field of secretFields) stored[field] = sealing.seal(kind, field, payload[field]);
  return stored;
}

/**
 * The payload as the job's handler sees it: sealed fields opened.
 * @throws SealedValueError when a field does not open with this master key; Error when there is no key
 */
export function openJobSecrets(db: Executor, kind: string, payload: Record<string, unknown>): Record<string, unknown> {
  const sealedFields = Object.keys(payload).filter((key) => key.startsWith(SECRET_FIELD_PREFIX) && isSealed(payload[key]));
  if (sealedFields.length === 0) return payload;
  const sealing = sealingOf(db);
  if (!sealing) throw new Error(`job ${kind} carries a sealed secret, and this database connection has no master key to open it with`);
  const opened = { ...payload };
  for (const field of sealedFields) opened[field] = sealing.open(kind, field, payload[field] as SealedField);
  return opened;
}

/**
 * One secret of a job sealed on its own, for a job that keeps secrets in rows of its own
 * rather than in its payload (the receipts a digest collects): the same key and context as
 * the payload field `field` of a job of `kind`.
 * @throws Error when the connection carries no master key
 */
export function sealJobSecret(db: Executor, kind: string, field: string, value: string): string {
  const sealing = sealingOf(db);
  if (!sealing) throw new Error(`job ${kind} carries a secret, and this database connection has no master key to seal it with`);
  return sealing.seal(kind, field, value).$sealed;
}

/**
 * Opens what sealJobSecret sealed.
 * @throws SealedValueError when it does not open with this master key; Error when there is no key
 */
export function openJobSecret(db: Executor, kind: string, field: string, sealed: string): string {
  const sealing = sealingOf(db);
  if (!sealing) throw new Error(`job ${kind} carries a sealed secret, and this database connection has no master key to open it with`);
  const value = sealing.open(kind, field, { $sealed: sealed });
  if (typeof value !== "string") throw new Error(`a sealed ${field} of job ${kind} is not text`);
  return value;
}
