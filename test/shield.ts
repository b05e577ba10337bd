import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, type Config } from "../src/config.js";
import { createShield, type Shield } from "../src/main.js";
import { createLogger } from "../src/platform/logger.js";
import { addTeamMember, createApiToken, type Role, type TeamMember } from "../src/modules/people/index.js";
import type { Mailer } from "../src/platform/mail/mailer.js";
import type { Clock } from "../src/shared/clock.js";
import { systemClock } from "../src/shared/clock.js";
import { fakeDnsResolver, type DnsRecords } from "./dns.js";
import { createTestDatabase, type TestDatabase, type TestDatabaseKind } from "./databases.js";

export interface TestShield extends Shield {
  dataDir: string;
  testDatabase: TestDatabase;
  /** What the services that change reports are given (database, clock, the event bus, the settings reader), for tests that call them directly. */
  deps: { db: Shield["database"]["db"]; clock: Clock; events: Shield["events"]; reportCommits: Shield["reportCommits"]; settings: Shield["settings"] };
  /** Adds a team member with an API token; returns the `Authorization` header value too. */
  addMember(role: Role, email?: string): Promise<{ member: TeamMember; token: string; auth: { authorization: string } }>;
  /** Closes Shield and removes its data directory; its database is dropped without waiting (see `TestDatabase.discard`). */
  destroy(): Promise<void>;
}

let seq = 0;

/**
 * A complete Shield over a fresh database and data directory, not listening: requests go
 * through `app.inject`. The worker does not run unless a test starts or drains it. Mail goes
 * to .eml files in the data directory unless a test gives its own mailer (`MailCapture`).
 */
export async function createTestShield(kind: TestDatabaseKind, options: { clock?: Clock; env?: Record<string, string>; dns?: DnsRecords; mailer?: Mailer } = {}): Promise<TestShield> {
  const testDatabase = await createTestDatabase(kind, { migrated: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-data-"));
  const config: Config = loadConfig({
    SHIELD_DATA_DIR: dataDir,
    DATABASE_URL: testDatabase.url,
    SHIELD_BASE_URL: "https://security.example.test",
    SHIELD_LOG_LEVEL: "silent",
    SHIELD_INTAKE_RATE_LIMIT: "1000",
    ...options.env,
  });
  const clock = options.clock ?? systemClock;
  // Mail checks (SPF, DKIM, DMARC) ask this resolver, never the network.
  const shield = await createShield(config, createLogger(config.SHIELD_LOG_LEVEL), clock, { dnsResolver: fakeDnsResolver(options.dns ?? {}), mailer: options.mailer });
  return {
    ...shield,
    dataDir,
    testDatabase,
    deps: { db: shield.database.db, clock, events: shield.events, reportCommits: shield.reportCommits, settings: shield.settings },
    async addMember(role, email = `${role}${++seq}@team.example.test`) {
      const member = await addTeamMember(shield.database.db, clock, { kind: "cli" }, { email, role });
      const { token } = await createApiToken(shield.database.db, clock, { kind: "cli" }, email);
      return { member, token, auth: { authorization: `Bearer ${token}` } };
    },
    async destroy() {
      await shield.close();
      testDatabase.discard();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
