import type { Kysely, Migration, MigrationProvider } from "kysely";
import type { DatabaseKind } from "../database.js";
import * as foundation from "./001-foundation.js";

interface ShieldMigration {
  up(db: Kysely<any>, kind: DatabaseKind): Promise<void>;
}

/** Migrations in order. Names are permanent: a released one is never renamed or edited. */
const all: Record<string, ShieldMigration> = {
  "001-foundation": foundation,
};

export class ShieldMigrationProvider implements MigrationProvider {
  constructor(private readonly kind: DatabaseKind) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, migration] of Object.entries(all)) {
      out[name] = { up: (db) => migration.up(db, this.kind) };
    }
    return out;
  }
}

export const latestMigration = Object.keys(all).at(-1)!;
