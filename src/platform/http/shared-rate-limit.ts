import { createRequire } from "node:module";
import type { FastifyRateLimitOptions, FastifyRateLimitStore, FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import { sql } from "kysely";
import type { Db } from "../db/database.js";

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;
type StoreParams = FastifyRateLimitOptions & { groupId?: string; continueExceeding?: boolean; exponentialBackoff?: boolean; cache?: number };

// The plugin's own in-memory store, for every limit that is not shared.
const LocalStore = createRequire(import.meta.url)("@fastify/rate-limit/store/LocalStore.js") as new (
  continueExceeding: boolean | undefined,
  exponentialBackoff: boolean | undefined,
  cache?: number,
) => FastifyRateLimitStore;

/** Expired windows are deleted at most this often per process. */
const PRUNE_EVERY_MS = 60_000;

interface PendingHit {
  key: string;
  windowMs: number;
  now: number;
  resolve: (count: { current: number; ttl: number }) => void;
  reject: (error: unknown) => void;
}

/**
 * Counts hits per client in fixed windows in the `rate_limit_counts` table, so that every
 * process on one PostgreSQL database counts against the same limit: an upsert
 * (`… on conflict do update set hits = hits + n returning hits`), atomic across processes.
 *
 * Hits that arrive while an upsert is under way go together in the next one, n at a time
 * per client and window, and each is told its own place in the count. One upsert per hit
 * made every request of a busy client wait for the one before it: each holds the client's
 * row until its commit is on disk.
 */
export class DatabaseRateCounter {
  private lastPrune = 0;
  private queue: PendingHit[] = [];
  private counting = false;

  constructor(private readonly db: Db) {}

  hit(key: string, windowMs: number, now = Date.now()): Promise<{ current: number; ttl: number }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ key, windowMs, now, resolve, reject });
      if (!this.counting) {
        this.counting = true;
        setImmediate(() => void this.countQueued());
      }
    });
  }

  private async countQueued(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.count(this.queue.splice(0));
    } finally {
      this.counting = false;
    }
  }

  private async count(hits: PendingHit[]): Promise<void> {
    const windows = new Map<string, { key: string; start: number; windowMs: number; hits: PendingHit[] }>();
    for (const hit of hits) {
      const start = Math.floor(hit.now / hit.windowMs) * hit.windowMs;
      const id = `${hit.key}\u0000${start}`;
      const window = windows.get(id);
      if (window) window.hits.push(hit);
      else windows.set(id, { key: hit.key, start, windowMs: hit.windowMs, hits: [hit] });
    }
    // Rows in one order in every process, so that two upserts never wait for each other crosswise.
    const rows = [...windows.values()]
      .map((w) => ({ key: w.key, window_start: new Date(w.start).toISOString(), hits: w.hits.length, expires_at: new Date(w.start + w.windowMs).toISOString() }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.window_start < b.window_start ? -1 : a.window_start > b.window_start ? 1 : 0));
    try {
      const counted = await this.db
        .insertInto("rate_limit_counts")
        .values(rows)
        .onConflict((oc) => oc.columns(["key", "window_start"]).doUpdateSet({ hits: sql<number>`rate_limit_counts.hits + excluded.hits` }))
        .returning(["key", "window_start", "hits"])
        .execute();
      const totals = new Map(counted.map((row) => [`${row.key}\u0000${new Date(row.window_start).getTime()}`, Number(row.hits)]));
      for (const window of windows.values()) {
        const total = totals.get(`${window.key}\u0000${window.start}`);
        if (total === undefined) throw new Error(`rate limit: no count came back for ${window.key}`);
        // The window's hits are the last n of its count, in the order they arrived.
        window.hits.forEach((hit, index) => hit.resolve({ current: total - window.hits.length + index + 1, ttl: window.start + window.windowMs - hit.now }));
      }
    } catch (error) {
      for (const hit of hits) hit.reject(error);
      return;
    }
    const now = Date.now();
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.db
        .deleteFrom("rate_limit_counts")
        .where("expires_at", "<", new Date(now).toISOString())
        .execute()
        .catch(() => undefined);
    }
  }
}

/**
 * A store for @fastify/rate-limit. Routes that name the same `groupId` count together (one
 * budget per client for every door of the intake): in `shared` when given (on PostgreSQL,
 * where several processes serve one site), else in this process's memory. Every other
 * limit counts per route in memory, as the plugin does by default.
 */
export function rateLimitStoreWith(shared: DatabaseRateCounter | undefined): FastifyRateLimitStoreCtor {
  return class ShieldRateLimitStore implements FastifyRateLimitStore {
    private readonly local: FastifyRateLimitStore;
    private readonly groups = new Map<string, FastifyRateLimitStore>();

    constructor(params: StoreParams) {
      this.local = new LocalStore(params.continueExceeding, params.exponentialBackoff, params.cache);
    }

    incr(key: string, callback: Callback, timeWindow: number, max: number): void {
      this.local.incr(key, callback, timeWindow, max);
    }

    child(routeOptions: StoreParams & { path: string; prefix: string }): FastifyRateLimitStore {
      const group = routeOptions.groupId;
      if (!group) return this.local.child(routeOptions as never);
      let store = this.groups.get(group);
      if (!store) {
        store = shared ? sharedStore(shared) : this.local.child(routeOptions as never);
        this.groups.set(group, store);
      }
      return store;
    }
  };
}

function sharedStore(shared: DatabaseRateCounter): FastifyRateLimitStore {
  return {
    incr: (key: string, callback: Callback, timeWindow: number) => {
      shared.hit(key, timeWindow).then(
        (result) => callback(null, result),
        (error: Error) => callback(error),
      );
    },
    child: () => {
      throw new Error("a shared rate limit has no children");
    },
  };
}
