import { PostgresAdapter } from "kysely";
import type { DatabaseKind, Executor } from "./database.js";

/**
 * Which database an executor talks to, for the few queries that must be written per
 * dialect (full-text search, row locks). Read from the Kysely adapter, so callers that
 * hold only a `Db` or a transaction need not carry the kind around.
 */
export function databaseKindOf(db: Executor): DatabaseKind {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}
