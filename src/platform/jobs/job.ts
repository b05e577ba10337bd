import type { z } from "zod";
import type { Tx } from "../db/database.js";
import { enqueueJob, enqueueJobAtCommit, type EnqueueOptions, type JobRow } from "./outbox.repository.js";

/**
 * A kind of outbox job and the shape of its payload. Enqueueing is checked against the
 * payload's type when compiling; running parses the stored payload with the schema, so a
 * payload that does not fit (written by an older version, or edited by hand) goes to the
 * dead letters at once with the reason instead of being retried for hours.
 */
export interface JobDefinition<Payload> {
  readonly kind: string;
  readonly payload: z.ZodType<Payload>;
}

export function defineJob<Schema extends z.ZodType>(definition: { kind: string; payload: Schema }): JobDefinition<z.output<Schema>> {
  return definition as JobDefinition<z.output<Schema>>;
}

/** The payload type of a job definition. */
export type PayloadOf<Definition> = Definition extends JobDefinition<infer Payload> ? Payload : never;

/**
 * A failure that no retry can mend (the payload does not fit, the report it is about was
 * deleted): the worker records the job as dead at once, with this message as the reason.
 */
export class PermanentJobError extends Error {
  override readonly name = "PermanentJobError";
}

/** What the worker runs for one kind: the payload as stored (secrets opened) and the job row. */
export type JobHandler = (payload: Record<string, unknown>, job: JobRow) => Promise<void>;

export interface JobHandlerEntry {
  readonly kind: string;
  readonly run: JobHandler;
}

/** Adds a job inside the caller's transaction, with its payload type-checked against the definition. */
export function enqueue<Payload>(tx: Tx, definition: JobDefinition<Payload>, payload: Payload, at: Date, options?: EnqueueOptions): Promise<number> {
  return enqueueJob(tx, definition.kind, payload as Record<string, unknown>, at, options);
}

/**
 * Adds a job inside a group commit, written with the other units' jobs at its end (see
 * `enqueueJobAtCommit`); outside a group commit it is inserted at once. Its id is not known.
 */
export function enqueueAtCommit<Payload>(tx: Tx, definition: JobDefinition<Payload>, payload: Payload, at: Date, options?: EnqueueOptions): Promise<void> {
  return enqueueJobAtCommit(tx, definition.kind, payload as Record<string, unknown>, at, options);
}

/** The handler of one kind of job: the stored payload is parsed with the definition's schema before `run` sees it. */
export function handleJob<Payload>(definition: JobDefinition<Payload>, run: (payload: Payload, job: JobRow) => Promise<void>): JobHandlerEntry {
  return {
    kind: definition.kind,
    run: async (raw, job) => {
      const parsed = definition.payload.safeParse(raw);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "payload"}: ${issue.message}`).join("; ");
        throw new PermanentJobError(`the payload does not fit job ${definition.kind}: ${problems}`);
      }
      await run(parsed.data, job);
    },
  };
}

/** The worker's table of handlers; a kind handled twice is a wiring mistake and refused. */
export function handlersOf(entries: readonly JobHandlerEntry[]): Record<string, JobHandler> {
  const handlers: Record<string, JobHandler> = {};
  for (const entry of entries) {
    if (handlers[entry.kind]) throw new Error(`job kind ${entry.kind} has two handlers`);
    handlers[entry.kind] = entry.run;
  }
  return handlers;
}
