import type { z } from "zod";
import type { Tx } from "../db/database.js";
import { enqueue, enqueueAtCommit, type JobDefinition } from "./job.js";
import type { EnqueueOptions } from "./outbox.repository.js";

/** Event names to the schema of their payloads. */
export type EventSchemas = Record<string, z.ZodType>;

export type EventName<Events extends EventSchemas> = keyof Events & string;
export type EventPayload<Events extends EventSchemas, Name extends EventName<Events>> = z.output<Events[Name]>;

export interface PublishOptions extends EnqueueOptions {
  /** Inside a group commit: write the subscribers' jobs with the batch's others at its end. */
  atCommit?: boolean;
}

/** What a module that announces something is given: it never learns who listens. */
export interface EventPublisher<Events extends EventSchemas> {
  /**
   * Announces that something happened, inside the transaction that made it happen: each
   * subscriber gets one outbox job, so the event is exactly as durable as the change.
   * `options` (a sender's turn, urgency) apply to every subscriber's job; with `atCommit`
   * the jobs go in with a group commit's others at its end (see `enqueueAtCommit`).
   */
  publish<Name extends EventName<Events>>(tx: Tx, event: Name, payload: EventPayload<Events, Name>, at: Date, options?: PublishOptions): Promise<void>;
}

/**
 * One module's interest in one event. Its job (kind `on:<event>:<name>`, payload the
 * event's) runs and is retried on its own; the module handles it with `handleJob` like
 * any other job.
 */
export interface Subscriber<Events extends EventSchemas, Name extends EventName<Events> = EventName<Events>> {
  readonly event: Name;
  readonly job: JobDefinition<EventPayload<Events, Name>>;
}

export function defineSubscriber<Events extends EventSchemas, Name extends EventName<Events>>(events: Events, event: Name, name: string): Subscriber<Events, Name> {
  return { event, job: { kind: `on:${event}:${name}`, payload: events[event] as z.ZodType<EventPayload<Events, Name>> } };
}

/**
 * Who listens to what, made once (main.ts) from the modules' subscribers. Publishing
 * writes one job per subscriber; whoever runs the worker must handle every one of them.
 */
export class EventBus<Events extends EventSchemas> implements EventPublisher<Events> {
  private readonly jobsByEvent = new Map<string, Array<JobDefinition<unknown>>>();

  constructor(readonly subscribers: ReadonlyArray<Subscriber<Events>>) {
    for (const subscriber of subscribers) {
      const jobs = this.jobsByEvent.get(subscriber.event) ?? [];
      if (jobs.some((job) => job.kind === subscriber.job.kind)) throw new Error(`${subscriber.job.kind} is subscribed twice`);
      jobs.push(subscriber.job as JobDefinition<unknown>);
      this.jobsByEvent.set(subscriber.event, jobs);
    }
  }

  /** The job kinds of every subscriber: a worker must handle each. */
  jobKinds(): string[] {
    return this.subscribers.map((subscriber) => subscriber.job.kind);
  }

  async publish<Name extends EventName<Events>>(tx: Tx, event: Name, payload: EventPayload<Events, Name>, at: Date, options: PublishOptions = {}): Promise<void> {
    const { atCommit, ...enqueueOptions } = options;
    for (const definition of this.jobsByEvent.get(event) ?? []) {
      if (atCommit) await enqueueAtCommit(tx, definition, payload, at, enqueueOptions);
      else await enqueue(tx, definition, payload, at, enqueueOptions);
    }
  }
}
