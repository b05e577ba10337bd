import type { ControlledTransaction } from "kysely";
import type { Db, Executor, Tx } from "./database.js";
import type { Tables } from "./schema.js";

type Unit = {
  work: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
};

/**
 * Group commit: units of work that arrive while the database is busy committing are run
 * together in the next transaction and made durable by one commit (one fsync) instead of
 * one each. A unit's promise settles only after that commit, so a caller still answers
 * only once its data is on disk.
 *
 * There are no savepoints between units: on SQLite a savepoint (like any statement with
 * RETURNING) makes the full-text index write out what it holds, which would undo most of
 * the gain. Instead, a unit that throws rolls the whole transaction back and rejects alone;
 * the units that ran before it are run again, in a new transaction, ahead of newer ones.
 * So a unit's work must touch nothing but the transaction it is given, and may run more
 * than once before it commits. If the commit itself fails, every unit of the batch rejects
 * and none of them is stored.
 *
 * Nothing waits on a timer: a lone unit starts at once (after the current turn of the event
 * loop, so that requests read in the same turn join it), and under load the batch is simply
 * whatever queued up during the previous commit.
 *
 * Rows that every unit writes (audit events, outbox jobs) can be handed to the batch with
 * `writeAtCommit`: after the last unit ran, each kind is written by one multi-row statement,
 * in the order the units ran, and then the batch commits. On PostgreSQL, where every
 * statement is a round trip, that turns a batch of 50 reports from some 450 statements into
 * about 60; and the audit head, which every committer of every process waits for, is taken
 * once per batch, last, for the few milliseconds up to the commit. If such a write fails,
 * the whole batch rejects (as when the commit fails): those rows come from Shield itself,
 * not from any one unit's input.
 */
export class GroupCommit {
  private queue: Unit[] = [];
  private draining = false;
  private readonly figures = { batches: 0, units: 0, commitMs: 0, lockHeldMs: [] as number[] };

  constructor(
    private readonly db: Db,
    private readonly maxBatch = 64,
  ) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.commit(this.queue.splice(0, this.maxBatch));
    } finally {
      this.draining = false;
    }
  }

  private async commit(batch: Unit[]): Promise<void> {
    let tx: ControlledTransaction<Tables> | undefined;
    const values: unknown[] = [];
    try {
      tx = await this.db.startTransaction().execute();
      const state = new BatchState(batch.length);
      batchStates.set(tx, state);
      for (const [index, unit] of batch.entries()) {
        try {
          values.push(await unit.work(tx));
        } catch (error) {
          await tx.rollback().execute();
          unit.reject(error);
          // The others did nothing wrong: they go again, first, without it.
          this.queue.unshift(...batch.slice(0, index), ...batch.slice(index + 1));
          return;
        }
      }
      batchStates.delete(tx);
      let lockedAt: number | undefined;
      for (const [writer, rows] of [...state.rows].sort(([a], [b]) => a.order - b.order)) {
        if (writer.takesSharedLock) lockedAt ??= performance.now();
        await writer.flush(tx, rows);
      }
      const committing = performance.now();
      await tx.commit().execute();
      const committed = performance.now();
      this.note(batch.length, committed - committing, lockedAt === undefined ? undefined : committed - lockedAt);
    } catch (error) {
      if (tx && !tx.isCommitted && !tx.isRolledBack) await tx.rollback().execute().catch(() => undefined);
      for (const unit of batch) unit.reject(error);
      return;
    }
    batch.forEach((unit, index) => unit.resolve(values[index]));
  }

  private note(units: number, commitMs: number, lockHeldMs: number | undefined): void {
    this.figures.batches++;
    this.figures.units += units;
    this.figures.commitMs += commitMs;
    if (lockHeldMs !== undefined && this.figures.lockHeldMs.length < 1_000_000) this.figures.lockHeldMs.push(lockHeldMs);
  }

  /**
   * What the batches so far were like: how many, of how many units, how long a commit took
   * and how long the shared lock (the audit head) was held per commit, from its taking to
   * the end of the commit. Logged when Shield stops; `bench:intake` prints it.
   */
  summary(): { batches: number; units: number; commitMsPerCommit: number; headHeldMsPerCommit: number; headHeldMsP99: number } {
    const held = [...this.figures.lockHeldMs].sort((a, b) => a - b);
    const round = (n: number) => Math.round(n * 1000) / 1000;
    return {
      batches: this.figures.batches,
      units: this.figures.units,
      commitMsPerCommit: round(this.figures.commitMs / Math.max(1, this.figures.batches)),
      headHeldMsPerCommit: round(held.reduce((n, ms) => n + ms, 0) / Math.max(1, held.length)),
      headHeldMsP99: round(held[Math.min(held.length - 1, Math.floor(held.length * 0.99))] ?? 0),
    };
  }
}

/**
 * Runs `work` in a transaction: as a unit of `commits` when given, so that it shares its
 * commit (its fsync) with the units that arrive meanwhile and settles only after that
 * commit; otherwise in a transaction of its own. With `commits`, `work` must do what a
 * unit may (see GroupCommit): touch nothing but its transaction, and be safe to run again.
 */
export function runInTransaction<T>(db: Db, commits: GroupCommit | undefined, work: (tx: Tx) => Promise<T>): Promise<T> {
  return commits ? commits.run(work) : db.transaction().execute(work);
}

/**
 * A kind of row that many units of a batch write: each unit hands its row over with
 * `writeAtCommit`, and `flush` writes all of them, in the order the units ran, once the
 * last unit ran and before the commit. Writers flush in ascending `order`.
 */
export interface CommitWriter<T> {
  readonly order: number;
  /** A lock every committer waits for (the audit head): taken by this flush and held until the commit ends, so it flushes last and is timed. */
  readonly takesSharedLock?: boolean;
  flush(tx: Tx, rows: T[]): Promise<void>;
}

class BatchState {
  readonly rows = new Map<CommitWriter<unknown>, unknown[]>();
  readonly once = new Map<string, Promise<unknown>>();
  readonly reserved = new Map<string, number[]>();
  constructor(readonly units: number) {}
}

/** The state of the batch a group commit's transaction is running its units in. */
const batchStates = new WeakMap<Executor, BatchState>();

/**
 * Writes `row` with the others of its kind at the end of the group commit `tx` belongs to;
 * in any other transaction, at once. Either way it is stored exactly when the transaction
 * commits.
 */
export async function writeAtCommit<T>(tx: Tx, writer: CommitWriter<T>, row: T): Promise<void> {
  const state = batchStates.get(tx);
  if (!state) return writer.flush(tx, [row]);
  const rows = state.rows.get(writer as CommitWriter<unknown>);
  if (rows) rows.push(row);
  else state.rows.set(writer as CommitWriter<unknown>, [row]);
}

/**
 * `read()` once per group commit for all its units (the settings every report is stored
 * under), or at each call outside a group commit.
 */
export function readOncePerBatch<T>(tx: Executor, name: string, read: () => Promise<T>): Promise<T> {
  const state = batchStates.get(tx);
  if (!state) return read();
  let value = state.once.get(name) as Promise<T> | undefined;
  if (!value) state.once.set(name, (value = read()));
  return value;
}

/**
 * An id for a new row of `name`, taken from ids `reserve` fetched for the whole group commit
 * (as many as it has units) in one round trip; outside a group commit, fetched alone. Ids a
 * batch does not use are skipped, as a rolled-back insert skips its sequence number.
 */
export async function takeReservedId(tx: Executor, name: string, reserve: (count: number) => Promise<number[]>): Promise<number> {
  const state = batchStates.get(tx);
  if (!state) return (await reserve(1))[0]!;
  let ids = state.reserved.get(name);
  if (!ids?.length) state.reserved.set(name, (ids = await reserve(state.units)));
  return ids.shift()!;
}

