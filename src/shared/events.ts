import { z } from "zod";
import type { EventPublisher } from "../platform/jobs/events.js";

/**
 * What happened, in the past tense, with what a listener needs to know: the one list of
 * domain events. A module announces one with `events.publish(tx, name, payload, at)` in
 * the transaction that made it happen; modules that care subscribe (wired in main.ts) and
 * get one outbox job each. Payloads carry ids and facts, never reporter-written text.
 */
export const DOMAIN_EVENTS = {
  /** A report was stored (web form, API or e-mail). */
  "report.received": z.object({ reportId: z.number().int().positive() }),
  /** The reporter wrote a message on their report (tracking page or e-mail). */
  "report.reporter_replied": z.object({ reportId: z.number().int().positive(), messageId: z.number().int().positive() }),
  /** The reporter pressed Escalate: the promised first response passed with no answer. */
  "report.escalated": z.object({ reportId: z.number().int().positive(), escalatedAt: z.string(), firstResponseDue: z.string() }),
  /** A member was made a report's owner, by someone (`by`: the member, the command line or Shield). */
  "report.owner_assigned": z.object({
    reportId: z.number().int().positive(),
    ownerId: z.number().int().positive(),
    by: z.object({ kind: z.enum(["user", "cli", "system"]), userId: z.number().int().positive().optional(), email: z.string().optional() }),
  }),
  /** The team moved a report to another channel. */
  "report.channel_changed": z.object({ reportId: z.number().int().positive(), from: z.string(), to: z.string() }),
  /** Three quarters of a promised time are used. */
  "sla.warned": z.object({ reportId: z.number().int().positive(), target: z.enum(["firstResponse", "triage", "resolution"]), dueAt: z.string() }),
  /** A promised time passed without its step being done. */
  "sla.missed": z.object({ reportId: z.number().int().positive(), target: z.enum(["firstResponse", "triage", "resolution"]), dueAt: z.string() }),
} as const;

export type DomainEvents = typeof DOMAIN_EVENTS;
export type DomainEventName = keyof DomainEvents & string;
export type DomainEventPayload<Name extends DomainEventName> = z.output<DomainEvents[Name]>;

/** What a module is given to announce domain events (see platform/jobs/events.ts). */
export type Events = EventPublisher<DomainEvents>;
