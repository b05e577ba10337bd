import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import formbody from "@fastify/formbody";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { migrateToLatest, openDatabase, type Database } from "./platform/db/database.js";
import { GroupCommit } from "./platform/db/group-commit.js";
import { createHttpApp, type HttpApp } from "./platform/http/app.js";
import { DatabaseRateCounter } from "./platform/http/shared-rate-limit.js";
import { OutboxWorker } from "./platform/jobs/worker.js";
import { createFileMailer, createSmtpMailer, type Mailer, type MailerOptions } from "./platform/mail/mailer.js";
import { systemClock, type Clock } from "./shared/clock.js";
import { createReceiptDigestJob, createReceiptJob } from "./modules/intake/index.js";
import { registerIntakeRoutes } from "./modules/intake/intake.routes.js";
import { prepareTeamKeyring, SecurityTxtPublisher, type TeamKeyring } from "./modules/keys/index.js";
import { registerKeyRoutes } from "./modules/keys/keys.routes.js";
import { registerOpsRoutes } from "./modules/ops/ops.routes.js";
import { recordPublicBaseUrl } from "./modules/ops/index.js";
import { registerApiTokenRoutes } from "./modules/people/api-token.routes.js";
import { openSetupIfNeeded } from "./modules/people/index.js";
import { createReportUpdateJob, createSupportForwardJob, fixTermsOfEarlierReports, pagesOfOpenReportClocks } from "./modules/reports/index.js";
import { createBountyDecisionJob } from "./modules/triage/index.js";
import { registerReportRoutes } from "./modules/reports/report.routes.js";
import { registerTriageRoutes } from "./modules/triage/triage.routes.js";
import { SettingsReader } from "./modules/settings/index.js";
import { registerSetupRoutes } from "./web/setup/setup.routes.js";
import { registerClientModuleRoutes } from "./web/client-modules.routes.js";
import { loadMasterKey } from "./platform/crypto/master-key.js";
import { deriveKey } from "./platform/crypto/secrets.js";
import { keyAuditLog } from "./modules/audit/index.js";
import { createGuessingNoticeJob, createMasterKeySealer, readSessionToken, type AuthContext } from "./modules/auth/index.js";
import { registerTeamPages } from "./web/team/team.routes.js";
import { registerDeskPages } from "./web/desk/desk.routes.js";
import { registerSecurityPolicyRoutes } from "./web/public/security-policy.routes.js";
import { registerHallOfFameRoutes } from "./web/public/hall-of-fame.routes.js";
import { registerAdvisoryPages } from "./web/public/advisories.routes.js";
import { registerCsafProviderRoutes } from "./web/public/csaf-provider.routes.js";
import { BlobStore } from "./platform/blobs/blob-store.js";
import { prepareDataDirectory } from "./platform/blobs/data-directory.js";
import { removeStaleTemporaryFiles } from "./platform/blobs/durable-file.js";
import { removeLeftoverBlobs, STALE_FILE_AGE_MS } from "./modules/attachments/index.js";
import { registerAttachmentRoutes } from "./modules/attachments/attachment.routes.js";
import { registerMetricsRoutes, ServiceLevelMetrics } from "./modules/metrics/index.js";
import { registerAdminPages } from "./web/admin/admin.routes.js";
import { registerPublicSite } from "./web/public/public-site.plugin.js";
import { registerProgramStatsPage } from "./web/public/program-stats.routes.js";
import { siteInfoFrom } from "./web/site-info.js";
import { Scheduler } from "./platform/jobs/scheduler.js";
import { JOBS_PRUNE_EVERY_MS, JOBS_PRUNE_TASK, pruneDoneJobs } from "./platform/jobs/retention.js";
import { createNotificationSubscribers, createTeamMailJob, createWebhookJob } from "./modules/notifications/index.js";
import { handlersOf } from "./platform/jobs/job.js";
import type { EventBus } from "./platform/jobs/events.js";
import type { DomainEvents } from "./shared/events.js";
import { createEventBus } from "./subscriptions.js";
import { createInboundMail, type InboundMail } from "./modules/inbound-mail/index.js";
import type { DnsResolver } from "./platform/mail/inbound/mail-authentication.js";
import { checkServiceLevels, SLA_CHECK_EVERY_MS, SLA_CHECK_TASK } from "./modules/sla/index.js";
import { createScheduledPublicationJob } from "./modules/advisories/index.js";
import { registerAdvisoryRoutes } from "./modules/advisories/advisory.routes.js";

export const VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

export interface Shield {
  config: Config;
  database: Database;
  app: HttpApp;
  worker: OutboxWorker;
  mailer: Mailer;
  settings: SettingsReader;
  /** The team's OpenPGP key: publish, sign, decrypt. */
  keyring: TeamKeyring;
  /** Periodic tasks (the service-level check); started with the worker. */
  scheduler: Scheduler;
  /** Team sign-in: sessions, second factors; `requireSession(shield.auth, permission)` guards team pages. */
  auth: AuthContext;
  /** Who listens to which domain event; modules publish through it (see subscriptions.ts). */
  events: EventBus<DomainEvents>;
  /** The group committer new reports share. */
  reportCommits: GroupCommit;
  /** The e-mail channel: `receive` stores a message; `smtp` is the listener when `SHIELD_SMTP_LISTEN` is set (not listening until `serve` or a test says so). */
  inboundMail: InboundMail;
  /** Stops the worker after its current job, closes the HTTP server after in-flight requests, then the database. */
  close(): Promise<void>;
}

export function createMailer(config: Config, options: MailerOptions = {}): Mailer {
  return config.SMTP_URL ? createSmtpMailer(config.SMTP_URL, options) : createFileMailer(path.join(config.dataDir, "outbox"), options);
}

/**
 * Wiring only: config → database → modules → HTTP and worker. Nothing listens and no
 * job runs until the caller says so (`app.listen`, `worker.start`).
 */
export async function createShield(config: Config, logger: Logger, clock: Clock = systemClock, options: { dnsResolver?: DnsResolver; mailer?: Mailer } = {}): Promise<Shield> {
  await prepareDataDirectory(config.dataDir);
  // The master key (file or SHIELD_MASTER_KEY) seals the team key, TOTP secrets and the secrets in job payloads, and keys the audit log.
  const masterKey = await loadMasterKey({ dataDir: config.dataDir, fromEnvironment: config.SHIELD_MASTER_KEY });
  const opened = openDatabase(config.database, {
    masterKey: masterKey.bytes,
    onIdleConnectionError: (error) => logger.warn({ err: error }, "the database closed an idle connection; the next query opens a new one"),
  });
  // A fresh install gets its team key before anything is served or mailed; every audit
  // event is keyed from the master key (an older chain is re-chained once here).
  let database: Database;
  let settings: SettingsReader;
  let keyring: TeamKeyring;
  try {
    await migrateToLatest(opened);
    database = { ...opened, db: await keyAuditLog(opened.db, masterKey, () => clock.now().toISOString()) };
    // The one settings reader of this process, handed to everything that reads settings.
    settings = new SettingsReader(database.db);
    keyring = await prepareTeamKeyring({ db: database.db, clock, settings, dataDir: config.dataDir, masterKeyBase64: config.SHIELD_MASTER_KEY });
  } catch (error) {
    await opened.close();
    throw error;
  }
  const db = database.db;
  // A caller may bring its own (tests capture what would be sent); else SMTP_URL decides.
  const mailer = options.mailer ?? createMailer(config, { signingKey: () => keyring.signingKey() });
  // Reports stored before each kept its own terms get today's, once (migration 015).
  await fixTermsOfEarlierReports(db, await settings.get());
  const baseUrl = () => config.baseUrl;
  const events = createEventBus();
  // One per process and database, so that reports arriving together share a commit.
  const reportCommits = new GroupCommit(db);
  // On SQLite, where one connection takes every write in turn anyway, the transactions of
  // jobs the worker runs side by side (receipts' admissions, fan-outs to the team) share a
  // commit too. Not on PostgreSQL: there one transaction would take the row locks of
  // several recipients, in no fixed order across processes.
  const jobCommits = database.kind === "sqlite" ? new GroupCommit(db) : undefined;
  const mailDeps = { db, settings, mailer, baseUrl, mailFrom: config.SHIELD_MAIL_FROM, threadOfReport: (reportId: number) => inboundMail.thread(reportId) };
  const receiptDeps = {
    ...mailDeps,
    clock,
    jobCommits,
    receiptLimit: { perWindow: config.SHIELD_RECEIPT_LIMIT, windowMs: config.SHIELD_RECEIPT_WINDOW_MINUTES * 60_000 },
  };
  const blobs = new BlobStore(path.join(config.dataDir, "blobs"));
  // What crashes left (uploads never finished, blobs whose report never committed, mail
  // files never named), old enough that no process is still working on it.
  const leftovers = await removeLeftoverBlobs(db, blobs, clock.now());
  const mailTemporaries = await removeStaleTemporaryFiles(path.join(config.dataDir, "outbox"), new Date(clock.now().getTime() - STALE_FILE_AGE_MS));
  if (leftovers.staging + leftovers.unreferenced + mailTemporaries > 0) logger.info({ ...leftovers, mailTemporaries }, "removed files that crashes left behind");
  const auth: AuthContext = {
    db,
    clock,
    policy: { idleMs: config.SHIELD_SESSION_IDLE_MINUTES * 60_000, absoluteMs: config.SHIELD_SESSION_MAX_HOURS * 3_600_000 },
    limits: { maxFailures: config.SHIELD_SIGN_IN_MAX_FAILURES, windowMs: config.SHIELD_SIGN_IN_WINDOW_MINUTES * 60_000 },
    sealer: createMasterKeySealer(masterKey.bytes),
    baseUrl,
    onNoticeQueued: () => worker.wake(),
  };

  const inboundMail = createInboundMail({
    config,
    db,
    clock,
    events,
    reportCommits,
    blobs,
    keyring,
    masterKey: masterKey.bytes,
    settings,
    mailFrom: config.SHIELD_MAIL_FROM,
    logger: logger.child({ component: "mail-intake" }),
    dnsResolver: options.dnsResolver,
    onReceived: () => worker.wake(),
  });

  let requestsInFlight = 0;
  const handlers = handlersOf([
    createReceiptJob(receiptDeps),
    createReceiptDigestJob(receiptDeps),
    createReportUpdateJob(mailDeps),
    createBountyDecisionJob(mailDeps),
    createSupportForwardJob({ ...mailDeps, keyring }),
    createTeamMailJob(mailDeps),
    createWebhookJob({ db, baseUrl, settings }),
    createGuessingNoticeJob(mailDeps),
    createScheduledPublicationJob({ db, clock, baseUrl, events, settings, onPublished: () => worker.wake() }),
    ...createNotificationSubscribers({ db, clock, settings, jobCommits }),
  ]);
  // A subscriber whose job nobody runs would let its events pile up unseen.
  const unhandled = events.jobKinds().filter((kind) => !handlers[kind]);
  if (unhandled.length) throw new Error(`no handler for the subscriber jobs ${unhandled.join(", ")}`);
  const worker: OutboxWorker = new OutboxWorker(
    database,
    handlers,
    clock,
    logger.child({ component: "worker" }),
    { pollMs: config.SHIELD_WORKER_POLL_MS, busy: () => requestsInFlight > 0 },
  );
  const wake = () => worker.wake();
  const scheduler = new Scheduler(
    [
      { name: SLA_CHECK_TASK, everyMs: SLA_CHECK_EVERY_MS, run: () => checkServiceLevels({ db, clock, events, settings, openReportClocks: pagesOfOpenReportClocks(db), log: logger.child({ component: "sla" }), onAlerted: wake }) },
      { name: JOBS_PRUNE_TASK, everyMs: JOBS_PRUNE_EVERY_MS, run: () => pruneDoneJobs(db, clock.now(), config.SHIELD_JOB_RETENTION_DAYS) },
    ],
    logger.child({ component: "scheduler" }),
  );

  const app = await createHttpApp({
    logger,
    bodyLimit: config.SHIELD_MAX_BODY_BYTES,
    trustProxy: config.SHIELD_TRUST_PROXY,
    apiRateLimit: config.SHIELD_API_RATE_LIMIT,
    // Several processes may serve one PostgreSQL database: the intake limit is counted there.
    sharedRateLimits: database.kind === "postgres" ? new DatabaseRateCounter(db) : undefined,
    version: VERSION,
    secureCookies: config.baseUrl.startsWith("https:"),
    // Form tokens are bound to the member's session and valid in every process sharing the master key.
    csrf: { key: deriveKey(masterKey.bytes, "shield csrf v1"), sessionOf: (request) => readSessionToken(request, auth), publicOrigin: () => new URL(config.baseUrl).origin },
    // Every page shows the program of this Shield's own settings, also a refusal's.
    prepareRequest: siteInfoFrom(settings),
  });
  // The worker yields to requests while any is in flight (see OutboxWorker's `busy`).
  app.server.on("request", (_request: IncomingMessage, response: ServerResponse) => {
    requestsInFlight++;
    response.once("close", () => requestsInFlight--);
  });
  await app.register(formbody, { bodyLimit: config.SHIELD_MAX_BODY_BYTES });
  registerOpsRoutes(app, { database, clock, onRequeued: wake });
  registerApiTokenRoutes(app, { db: database.db, clock });
  registerClientModuleRoutes(app);
  registerIntakeRoutes(app, { db, clock, events, reportCommits, settings, baseUrl, onSubmitted: wake, rateLimitPerMinute: config.SHIELD_INTAKE_RATE_LIMIT });
  registerReportRoutes(app, { db, clock, events, settings, onChanged: wake, keyring });
  registerTriageRoutes(app, { db, clock, events, settings, keyring, onChanged: wake });
  registerAdvisoryRoutes(app, { db, clock, events, baseUrl, settings, onChanged: wake });
  registerSetupRoutes(app, { db, clock, baseUrl, auth });
  await registerTeamPages(app, { auth });
  registerSecurityPolicyRoutes(app, { db, settings, baseUrl });
  registerHallOfFameRoutes(app, { db, settings });
  registerAdvisoryPages(app, { db, settings, baseUrl });
  registerCsafProviderRoutes(app, { db, clock, settings, baseUrl, keyring });
  registerKeyRoutes(app, { keyring, securityTxt: new SecurityTxtPublisher({ keyring, settings, baseUrl, clock }) });
  registerAttachmentRoutes(app, { db, clock, blobs, keyring });
  // One per process: it shares a refresh in progress between the page and the scrapes.
  const serviceLevels = new ServiceLevelMetrics(db, settings, clock, logger.child({ component: "metrics" }));
  registerMetricsRoutes(app, { db, clock, serviceLevels });
  registerProgramStatsPage(app, { settings, serviceLevels });
  await registerAdminPages(app, { auth, settings, serviceLevels });
  await registerDeskPages(app, { db, clock, events, settings, auth, blobs, keyring, baseUrl, onChanged: wake });
  await registerPublicSite(app, {
    db,
    clock,
    events,
    reportCommits,
    settings,
    blobs,
    baseUrl,
    limits: { maxFileBytes: config.SHIELD_ATTACHMENT_MAX_BYTES, maxFiles: config.SHIELD_ATTACHMENT_MAX_FILES, maxTotalBytes: config.SHIELD_ATTACHMENT_MAX_TOTAL_BYTES },
    rateLimitPerMinute: config.SHIELD_INTAKE_RATE_LIMIT,
    onChanged: wake,
    keyring,
  });
  await app.ready();


  let closing: Promise<void> | undefined;
  return {
    config,
    database,
    app,
    worker,
    mailer,
    settings,
    keyring,
    scheduler,
    auth,
    events,
    reportCommits,
    inboundMail,
    close: () =>
      (closing ??= (async () => {
        await inboundMail.close();
        await scheduler.stop();
        await worker.stop();
        await app.close();
        await serviceLevels.settle();
        mailer.close();
        // How the reports' group commits went (bench:intake prints it): batch sizes, commit time, how long the audit head was held.
        const committed = reportCommits.summary();
        if (committed.batches > 0) logger.info(committed, "group commit");
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
  await recordPublicBaseUrl(shield.database.db, systemClock, config.baseUrl);
  if (config.SHIELD_WORKER) {
    shield.worker.start();
    shield.scheduler.start();
  }
  logger.info({ address, database: shield.database.kind, worker: config.SHIELD_WORKER }, "Shield is listening");
  if (shield.inboundMail.smtp) {
    const port = await shield.inboundMail.smtp.listen();
    logger.info({ smtp: `${config.SHIELD_SMTP_LISTEN?.replace(/:\d+$/, "")}:${port}` }, "Shield takes mail over SMTP");
  }
  if (shield.inboundMail.imap) {
    shield.inboundMail.imap.start();
    logger.info({ imap: shield.inboundMail.imap.mailboxKey }, "Shield takes mail from an IMAP mailbox");
  }

  const setupToken = await openSetupIfNeeded(shield.database.db, systemClock);
  if (setupToken) {
    // Printed to the terminal, never logged: the link is a secret.
    process.stderr.write(`\nShield has no admin yet. Create the first admin here (the link works until their authenticator is set up; a restart prints a new one):\n\n  ${config.baseUrl}/setup/${setupToken}\n\n`);
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
