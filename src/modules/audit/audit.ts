import { hmacSha256Hex, sha256Hex } from "../../platform/crypto/secrets.js";

/** Who did something. Stored in the audit log as a short readable string. */
export type Actor =
  | { kind: "user"; userId: number; email: string }
  | { kind: "reporter" }
  | { kind: "public" }
  | { kind: "system" }
  | { kind: "cli" };

export function describeActor(actor: Actor): string {
  return actor.kind === "user" ? `user:${actor.userId}:${actor.email}` : actor.kind;
}

export interface AuditEntry {
  action: string;
  subjectType: string;
  subjectId: string;
  data?: Record<string, unknown>;
}

export interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  data: string;
  prev_hash: string;
  hash: string;
}

/**
 * The key of the chain's MACs: derived from the master key (HKDF, label
 * `shield audit chain v1`), so someone who can write to the database but does not hold
 * the master key cannot compute a MAC for an event they add or change. `id` is the master
 * key's id, recorded in the head so that a process with another master key is told so.
 */
export interface AuditKey {
  id: string;
  bytes: Uint8Array;
}

/** How an event's `hash` column is computed: a keyed MAC now, plain SHA-256 before migration 020. */
export type EventMac = (event: Omit<AuditEvent, "hash">) => string;

function chainedText(event: Omit<AuditEvent, "hash">): string {
  return `${event.prev_hash}\n${JSON.stringify([event.seq, event.at, event.actor, event.action, event.subject_type, event.subject_id, event.data])}`;
}

/**
 * Each event's MAC covers every stored field and the MAC of the event before, so
 * editing, inserting or deleting any event breaks the chain from there on; without the
 * key nobody can compute a MAC that verifies.
 */
export function computeEventMac(key: AuditKey, event: Omit<AuditEvent, "hash">): string {
  return hmacSha256Hex(key.bytes, chainedText(event));
}

/** The unkeyed hash of chains written before migration 020; only read to check a chain before it is re-chained. */
export function computePlainEventHash(event: Omit<AuditEvent, "hash">): string {
  return sha256Hex(chainedText(event));
}

export interface ChainProblem {
  seq: number;
  problem: "edited" | "missing" | "inserted" | "out_of_chain" | "anchor" | "wrong_key";
  message: string;
}

/**
 * Checks a run of events in seq order. `expected` is where the previous run ended.
 * Pure, so that `audit verify` can stream the log in pages.
 */
export function verifyChainSegment(
  events: AuditEvent[],
  expected: { seq: number; hash: string },
  mac: EventMac,
): { problems: ChainProblem[]; next: { seq: number; hash: string } } {
  const problems: ChainProblem[] = [];
  let { seq, hash } = expected;
  for (const event of events) {
    if (event.seq > seq + 1) {
      for (let missing = seq + 1; missing < event.seq; missing++) {
        problems.push({ seq: missing, problem: "missing", message: `event ${missing} is missing: it was deleted` });
      }
    } else if (event.seq <= seq) {
      problems.push({ seq: event.seq, problem: "inserted", message: `event ${event.seq} repeats a sequence number: it was inserted` });
    }
    const recomputed = mac(event);
    if (recomputed !== event.hash) {
      problems.push({ seq: event.seq, problem: "edited", message: `event ${event.seq} (${event.action} on ${event.subject_type} ${event.subject_id}) was edited: its content does not match its MAC` });
    } else if (event.prev_hash !== hash && event.seq === seq + 1) {
      problems.push({ seq: event.seq, problem: "out_of_chain", message: `event ${event.seq} does not follow event ${seq}: an event before it was changed, inserted or deleted` });
    } else if (event.prev_hash !== hash && event.seq > seq + 1) {
      // Already reported as a gap; the broken link is the consequence.
    } else if (event.prev_hash !== hash) {
      problems.push({ seq: event.seq, problem: "inserted", message: `event ${event.seq} does not belong to the chain: it was inserted` });
    }
    seq = Math.max(seq, event.seq);
    hash = event.hash;
  }
  return { problems, next: { seq, hash } };
}
