import type { Kysely, Migration, MigrationProvider } from "kysely";
import type { DatabaseKind } from "../database.js";
import * as foundation from "./001-foundation.js";
import * as teamKey from "./002-team-key.js";
import * as policyHallOfFame from "./003-policy-hall-of-fame.js";
import * as attachmentsPortal from "./004-attachments-portal.js";
import * as signIn from "./005-sign-in.js";
import * as serviceLevels from "./006-service-levels.js";
import * as triage from "./007-triage.js";
import * as browserEncryption from "./008-browser-encryption.js";
import * as searchIndexOnInsert from "./009-search-index-on-insert.js";
import * as newestFirstIndex from "./010-newest-first-index.js";
import * as auditActionIndex from "./011-audit-action-index.js";
import * as metricsSnapshots from "./012-metrics-snapshots.js";
import * as signInFailuresByTime from "./013-sign-in-failures-by-time.js";
import * as receiptLimits from "./014-receipt-limits.js";
import * as serviceTerms from "./015-service-terms.js";
import * as advisories from "./016-advisories.js";
import * as fairOutbox from "./017-fair-outbox.js";
import * as apiTokenExpiry from "./018-api-token-expiry.js";
import * as inboundMail from "./019-inbound-mail.js";
import * as keyedAuditChain from "./020-keyed-audit-chain.js";
import * as hallOfFameYear from "./021-hall-of-fame-year.js";
import * as signInGuessingNotices from "./022-sign-in-guessing-notices.js";
import * as imapCursors from "./023-imap-cursors.js";
import * as searchReporter from "./024-search-reporter.js";
import * as heldReceipts from "./025-held-receipts.js";

interface ShieldMigration {
  up(db: Kysely<any>, kind: DatabaseKind): Promise<void>;
}

/** Migrations in order. Names are permanent: a released one is never renamed or edited. */
const all: Record<string, ShieldMigration> = {
  "001-foundation": foundation,
  "002-team-key": teamKey,
  "003-policy-hall-of-fame": policyHallOfFame,
  "004-attachments-portal": attachmentsPortal,
  "005-sign-in": signIn,
  "006-service-levels": serviceLevels,
  "007-triage": triage,
  "008-browser-encryption": browserEncryption,
  "009-search-index-on-insert": searchIndexOnInsert,
  "010-newest-first-index": newestFirstIndex,
  "011-audit-action-index": auditActionIndex,
  "012-metrics-snapshots": metricsSnapshots,
  "013-sign-in-failures-by-time": signInFailuresByTime,
  "014-receipt-limits": receiptLimits,
  "015-service-terms": serviceTerms,
  "016-advisories": advisories,
  "017-fair-outbox": fairOutbox,
  "018-api-token-expiry": apiTokenExpiry,
  "019-inbound-mail": inboundMail,
  "020-keyed-audit-chain": keyedAuditChain,
  "021-hall-of-fame-year": hallOfFameYear,
  "022-sign-in-guessing-notices": signInGuessingNotices,
  "023-imap-cursors": imapCursors,
  "024-search-reporter": searchReporter,
  "025-held-receipts": heldReceipts,
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
