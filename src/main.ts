import { createRequire } from "node:module";
import path from "node:path";
import formbody from "@fastify/formbody";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { migrateToLatest, openDatabase, type Database } from "./platform/db/database.js";
import { createHttpApp, type HttpApp } from "./platform/http/app.js";
import { OutboxWorker } from "./platform/jobs/worker.js";
import { createFileMailer, createSmtpMailer, type Mailer } from "./platform/mail/mailer.js";
import { systemClock, type Clock } from "./shared/clock.js";
import { createReceiptJob, RECEIPT_JOB } from "./modules/intake/index.js";
import { registerIntakeRoutes } from "./modules/intake/intake.routes.js";
import { registerOpsRoutes } from "./modules/ops/ops.routes.js";
import { openSetupIfNeeded } from "./modules/people/index.js";
import { REPORT_UPDATE_JOB } from "./modules/reports/index.js";
import { createReportUpdateJob } from "./modules/reports/report-update.job.js";
import { registerReportRoutes } from "./modules/reports/report.routes.js";
import { SettingsCache } from "./modules/settings/index.js";
import { registerSetupRoutes } from "./web/setup/setup.routes.js";

export const VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

export interface Shield {
  config: Config;
  database: Database;
  app: HttpApp;
  worker: OutboxWorker;
  mailer: Mailer;
  settings: SettingsCache;
  /** Stops the worker after its current job, closes the HTTP server after in-flight requests, then the database. */
  close(): Promise<void>;
}

export function createMailer(config: Config): Mailer {
  return config.SMTP_URL ? createSmtpMailer(config.SMTP_URL) : createFileMailer(path.join(config.dataDir, "outbox"));
}

/**
 * Wiring only: config → database → modules → HTTP and worker. Nothing listens and no
 * job runs until the caller says so (`app.listen`, `worker.start`).
 */
export async function createShield(config: Config, logger: Logger, clock: Clock = systemClock): Promise<Shield> {
  const database = openDatabase(config.database);
  try {
    await migrateToLatest(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  const db = database.db;
  const mailer = createMailer(config);
  const settings = new SettingsCache(db);
  const baseUrl = () => config.baseUrl;
  const mailDeps = { db, mailer, baseUrl, mailFrom: config.SHIELD_MAIL_FROM };

  const worker = new OutboxWorker(
    database,
    {
      [RECEIPT_JOB]: createReceiptJob(mailDeps),
      [REPORT_UPDATE_JOB]: createReportUpdateJob(mailDeps),
    },
    clock,
    logger.child({ component: "worker" }),
    { pollMs: config.SHIELD_WORKER_POLL_MS },
  );
  const wake = () => worker.wake();

  const app = await createHttpApp({
    logger,
    bodyLimit: config.SHIELD_MAX_BODY_BYTES,
    trustProxy: config.SHIELD_TRUST_PROXY,
    apiRateLimit: config.SHIELD_API_RATE_LIMIT,
    version: VERSION,
  });
  await app.register(formbody, { bodyLimit: config.SHIELD_MAX_BODY_BYTES });
  registerOpsRoutes(app, { database, clock, onRequeued: wake });
  registerIntakeRoutes(app, { db, clock, settings, baseUrl, onSubmitted: wake, rateLimitPerMinute: config.SHIELD_INTAKE_RATE_LIMIT });
  registerReportRoutes(app, { db, clock, settings, onChanged: wake });
  registerSetupRoutes(app, { db, clock, baseUrl });
  await app.ready();

  let closing: Promise<void> | undefined;
  return {
    config,
    database,
    app,
    worker,
    mailer,
    settings,
    close: () =>
      (closing ??= (async () => {
        await worker.stop();
        await app.close();
        mailer.close();
        await database.close();
      })()),
  };
}

/** `shield serve`: listen, start the worker, print the setup link on a fresh install, stop cleanly on SIGTERM/SIGINT. */
export async function serve(config: Config, logger: Logger): Promise<Shield> {
  const shield = await createShield(config, logger);
  const address = await shield.app.listen({ host: config.SHIELD_HOST, port: config.SHIELD_PORT });
  if (!config.SHIELD_BASE_URL && config.SHIELD_PORT === 0) {
    config.baseUrl = address.replace(/\/+$/, "");
  }
  if (config.SHIELD_WORKER) shield.worker.start();
  logger.info({ address, database: shield.database.kind, worker: config.SHIELD_WORKER }, "Shield is listening");

  const setupToken = await openSetupIfNeeded(shield.database.db, systemClock);
  if (setupToken) {
    // Printed to the terminal, never logged: the link is a secret.
    process.stderr.write(`\nShield has no team yet. Create the first admin here (the link works once):\n\n  ${config.baseUrl}/setup/${setupToken}\n\n`);
  }

  const stop = (signal: string) => {
    logger.info({ signal }, "stopping: finishing in-flight requests and the current job");
    shield.close().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, "unclean stop");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  return shield;
}
