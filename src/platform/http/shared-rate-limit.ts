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

/**
 * Counts hits per client in fixed windows in the `rate_limit_counts` table, so that every
 * process on one PostgreSQL database counts against the same limit: one upsert per hit
 * (`… on conflict do update set hits = hits + 1 returning hits`), atomic across processes.
 */
export class DatabaseRateCounter {
  private lastPrune = 0;

  constructor(private readonly db: Db) {}

  async hit(key: string, windowMs: number, now = Date.now()): Promise<{ current: number; ttl: number }> {
    const start = Math.floor(now / windowMs) * windowMs;
    const row = await this.db
      .insertInto("rate_limit_counts")
      .values({ key, window_start: new Date(start).toISOString(), hits: 1, expires_at: new Date(start + windowMs).toISOString() })
      .onConflict((oc) => oc.columns(["key", "window_start"]).doUpdateSet({ hits: sql<number>`rate_limit_counts.hits + 1` }))
      .returning("hits")
      .executeTakeFirstOrThrow();
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.db.deleteFrom("rate_limit_counts").where("expires_at", "<", new Date(now).toISOString()).execute();
    }
    return { current: Number(row.hits), ttl: start + windowMs - now };
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
