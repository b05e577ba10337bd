import type { ControlledTransaction } from "kysely";
import type { Db, Tx } from "./database.js";
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
 */
export class GroupCommit {
  private queue: Unit[] = [];
  private draining = false;

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
      await tx.commit().execute();
    } catch (error) {
      if (tx && !tx.isCommitted && !tx.isRolledBack) await tx.rollback().execute().catch(() => undefined);
      for (const unit of batch) unit.reject(error);
      return;
    }
    batch.forEach((unit, index) => unit.resolve(values[index]));
  }
}

const committers = new WeakMap<Db, GroupCommit>();

/** The database's group committer (one per connection pool, so that its batches are as large as they can be). */
export function groupCommitOf(db: Db): GroupCommit {
  let committer = committers.get(db);
  if (!committer) committers.set(db, (committer = new GroupCommit(db)));
  return committer;
}
