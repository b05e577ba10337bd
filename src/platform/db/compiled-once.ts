import { isDeepStrictEqual } from "node:util";
import { CompiledQuery, type Compilable, type Insertable, type QueryResult } from "kysely";
import type { Executor } from "./database.js";
import { databaseKindOf } from "./dialect.js";
import type { Tables } from "./schema.js";

/**
 * Queries that run for every report submitted, with their SQL built once.
 *
 * Kysely builds and compiles a query anew on every call: 7–23 µs for the statements of a
 * submission, longer than SQLite takes to run most of them. Its SQL text depends only on
 * the query's shape and the dialect, never on the values (they are always parameters), so
 * the text is kept per dialect and shape and each call passes its own values.
 *
 * The queries are still written with Kysely, once for both databases. The first call of
 * each checks that Kysely's parameters are exactly the values the caller passes, in that
 * order, and throws if not: a mistake shows in the first test that runs the query.
 */
const texts = new Map<string, string>();

/**
 * Runs a query of fixed shape named `name`; `parameters` are its values in the order they
 * appear in its SQL. `build` makes the query with those same values (used once per dialect,
 * name and build code). The name must say everything the shape depends on besides the code
 * (`insertRow` puts the table and its columns in it).
 */
export async function runCompiledOnce<R>(db: Executor, name: string, parameters: readonly unknown[], build: () => Compilable<R>): Promise<QueryResult<R>> {
  // Keyed by the code that builds the query as well as its name: a name given twice to
  // different queries keeps two texts, so neither runs the other's SQL.
  const key = `${databaseKindOf(db)}\u0000${name}\u0000${build.toString()}`;
  let text = texts.get(key);
  if (text === undefined) {
    const compiled = build().compile();
    if (!isDeepStrictEqual([...compiled.parameters], [...parameters])) {
      throw new Error(`query ${name}: Kysely's parameters ${JSON.stringify(compiled.parameters)} are not the values given, ${JSON.stringify(parameters)}`);
    }
    texts.set(key, (text = compiled.sql));
  }
  return db.executeQuery<R>(CompiledQuery.raw(text, [...parameters]));
}

/**
 * Inserts one row; the SQL is kept per table and set of columns. Resolves to the new row's id
 * on SQLite. `Insertable` admits plain values only (no SQL expressions), which Kysely always
 * sends as parameters.
 */
export async function insertRow<T extends keyof Tables & string>(db: Executor, table: T, row: Insertable<Tables[T]>): Promise<QueryResult<never>> {
  const columns = Object.keys(row).filter((column) => (row as Record<string, unknown>)[column] !== undefined);
  const values = columns.map((column) => (row as Record<string, unknown>)[column]);
  return runCompiledOnce(db, `insert ${table} (${columns.join(",")})`, values, () => db.insertInto(table).values(row) as unknown as Compilable<never>);
}

/**
 * Inserts rows with one statement (a column a row leaves out is null in it); the SQL is
 * kept per table, columns and number of rows. Rows are written in the order given.
 */
export async function insertRows<T extends keyof Tables & string>(db: Executor, table: T, rows: readonly Insertable<Tables[T]>[]): Promise<QueryResult<never>> {
  if (rows.length === 0) throw new Error(`insertRows into ${table}: no rows`);
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row).filter((column) => (row as Record<string, unknown>)[column] !== undefined)))];
  const ordered = rows.map((row) => Object.fromEntries(columns.map((column) => [column, (row as Record<string, unknown>)[column] ?? null]))) as Insertable<Tables[T]>[];
  const values = ordered.flatMap((row) => columns.map((column) => (row as Record<string, unknown>)[column]));
  return runCompiledOnce(db, `insert ${table} (${columns.join(",")}) × ${rows.length}`, values, () => db.insertInto(table).values(ordered) as unknown as Compilable<never>);
}
