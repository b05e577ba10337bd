/**
 * Reports encrypted in the reporter's browser (the optional checkbox on the web form),
 * as rules. Pure.
 *
 * What is encrypted: the three free-text fields that carry the substance of a report,
 * and every attached file. What stays readable: the channel, title, reporter's name and
 * address, key and credit, which Shield needs to route the report, keep its promises
 * and write back. Shield stores the ciphertext as received; the team reads a decrypted
 * copy made on demand with the team key, each time audited.
 */
export const ENCRYPTED_REPORT_FIELDS = ["description", "steps", "impact"] as const;
export type EncryptedReportField = (typeof ENCRYPTED_REPORT_FIELDS)[number];

/** The hidden field the browser script adds when it encrypted the form. */
export const ENCRYPTED_FLAG_FIELD = "encrypted";

/** How a browser-encrypted attachment (a binary OpenPGP message) is recorded. */
export const ENCRYPTED_CONTENT_TYPE = "application/pgp-encrypted";

export function isBrowserEncryptedForm(fields: Map<string, string>): boolean {
  return fields.get(ENCRYPTED_FLAG_FIELD) === "1";
}

export const NOT_ENCRYPTED_TO_TEAM =
  "should have been encrypted in your browser, but it is not an OpenPGP message encrypted to our team key. Reload the page and send the report again.";

export const FILE_NOT_ENCRYPTED = (name: string) =>
  `“${name}” should have been encrypted in your browser, but it is not an OpenPGP message encrypted to our team key. Reload the page and attach it again.`;

/** The name of the decrypted file: the browser added ".pgp" to the reporter's file name. */
export function decryptedFilename(name: string): string {
  return /\.pgp$/i.test(name) && name.length > 4 ? name.slice(0, -4) : name;
}

/** Whether an encrypted message is addressed to one of the team's keys. */
export function isForTeam(recipientKeyIds: readonly string[], teamKeyIds: readonly string[]): boolean {
  return recipientKeyIds.some((id) => teamKeyIds.includes(id));
}
