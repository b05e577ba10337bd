import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { prepareMigratedTemplates, TEST_POSTGRES_URL } from "./databases.js";

/**
 * Before any test: the compiled CLI must exist (process tests spawn it), and PostgreSQL
 * must answer. Under CI=true a missing database fails the run instead of skipping. Then the
 * migrated databases a test Shield starts from are made once for the run, and removed after.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const root = path.resolve(import.meta.dirname, "..");
  if (!fs.existsSync(path.join(root, "dist", "cli", "shield.js"))) {
    execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  }
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query("select 1");
    process.env.SHIELD_TEST_POSTGRES = "1";
  } catch (error) {
    if (process.env.CI === "true") throw new Error(`PostgreSQL is required under CI=true and is not reachable at ${TEST_POSTGRES_URL}: ${(error as Error).message}`);
    process.env.SHIELD_TEST_POSTGRES = "0";
    console.warn(`\n!! PostgreSQL is not reachable at ${TEST_POSTGRES_URL}: PostgreSQL tests are SKIPPED (they fail under CI=true).\n`);
  } finally {
    await client.end().catch(() => {});
  }
  return prepareMigratedTemplates(process.env.SHIELD_TEST_POSTGRES === "1");
}
