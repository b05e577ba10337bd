import fs from "node:fs/promises";
import { inspectEncryptedMessage, keyIdsOf } from "../../platform/crypto/openpgp-message.js";
import type { Db } from "../../platform/db/database.js";
import type { Clock } from "../../shared/clock.js";
import { DomainError } from "../../shared/errors.js";
import { appendAuditEvent, type Actor } from "../audit/index.js";
import { decryptForTeam, type TeamKeyring } from "../keys/index.js";
import { ENCRYPTED_CONTENT_TYPE, ENCRYPTED_REPORT_FIELDS, FILE_NOT_ENCRYPTED, isForTeam, NOT_ENCRYPTED_TO_TEAM, type EncryptedReportField } from "./browser-encryption.js";
import { isReportBrowserEncrypted } from "./browser-encryption.repository.js";

/** A staged file of an encrypted form: where its bytes are, what the content check made of it. */
export interface EncryptedUpload {
  filename: string;
  contentType: string;
  blob: { tempPath: string };
}

/**
 * Checks a form the browser says it encrypted, without decrypting anything: every
 * non-empty encrypted field must be an armoured OpenPGP message, and every file a binary
 * one, each encrypted to the current team key (the key the page just fetched from
 * /security/pgp-key.asc) and holding nothing in clear.
 * @returns problems by field, empty when all is well
 */
export async function checkBrowserEncryptedForm(
  keyring: TeamKeyring,
  values: Record<EncryptedReportField, string>,
  uploads: readonly EncryptedUpload[],
): Promise<Partial<Record<EncryptedReportField | "attachments", string>>> {
  const teamKeyIds = await keyIdsOf((await keyring.current()).publicKey);
  const problems: Partial<Record<EncryptedReportField | "attachments", string>> = {};
  for (const field of ENCRYPTED_REPORT_FIELDS) {
    if (values[field] === "") continue;
    const shape = await inspectEncryptedMessage(values[field]);
    if (!shape || !isForTeam(shape.recipientKeyIds, teamKeyIds)) problems[field] = NOT_ENCRYPTED_TO_TEAM;
  }
  const badFiles: string[] = [];
  for (const upload of uploads) {
    const shape = upload.contentType === ENCRYPTED_CONTENT_TYPE ? await inspectEncryptedMessage(new Uint8Array(await fs.readFile(upload.blob.tempPath))) : undefined;
    if (!shape || !isForTeam(shape.recipientKeyIds, teamKeyIds)) badFiles.push(FILE_NOT_ENCRYPTED(upload.filename));
  }
  if (badFiles.length) problems.attachments = badFiles.join(" ");
  return problems;
}

/** What the team API adds to a browser-encrypted report. */
export interface DecryptedCopy {
  browserEncrypted: true;
  /** The fields decrypted with the team key; null when they could not be. */
  decrypted: Record<EncryptedReportField, string | null> | null;
  /** Why there is no decrypted copy (e.g. the key it was encrypted to is gone). */
  problem: string | null;
}

/**
 * The decrypted copy of a browser-encrypted report for a team member, made in memory on
 * each read and never stored. The read of the report itself is audited by the reports
 * module; the decryption is audited here as its own event, so the log says who saw the
 * clear text. Undefined for a report that was not encrypted in the browser.
 */
export async function decryptReportForTeam(
  db: Db,
  clock: Clock,
  keyring: TeamKeyring,
  actor: Actor,
  report: { id: number } & Record<EncryptedReportField, string | null>,
): Promise<DecryptedCopy | undefined> {
  if (!(await isReportBrowserEncrypted(db, report.id))) return undefined;
  let decrypted: Record<EncryptedReportField, string | null> | null = { description: null, steps: null, impact: null };
  let problem: string | null = null;
  try {
    for (const field of ENCRYPTED_REPORT_FIELDS) {
      const value = report[field];
      decrypted[field] = value == null || value === "" ? value : await decryptForTeam(keyring, value);
    }
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    decrypted = null;
    problem = error.message;
  }
  const ok = decrypted !== null;
  await db.transaction().execute((tx) =>
    appendAuditEvent(tx, actor, { action: "report.decrypted", subjectType: "report", subjectId: String(report.id), data: { ok } }, clock.now().toISOString()),
  );
  return { browserEncrypted: true, decrypted, problem };
}
