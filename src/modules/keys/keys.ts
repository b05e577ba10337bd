/**
 * Product rules about OpenPGP keys and security.txt, with no technology: which keys the
 * team may use and reporters may give, what security.txt says, and how an encrypted
 * mail to a reporter is labelled on the outside.
 */

/** What the rules need to know about a key (platform/crypto/openpgp.ts `describeKey` gives it). */
export interface KeyFacts {
  isPrivate: boolean;
  isLocked: boolean;
  version: number;
  isRevoked: boolean;
  isExpired: boolean;
  canSign: boolean;
  canEncrypt: boolean;
}

/** The team key's user ID: the program's name and its security address. */
export function teamKeyUserId(settings: { programName: string; securityEmail: string }): { name: string; email: string } {
  return { name: settings.programName, email: settings.securityEmail };
}

/**
 * Why a key cannot become the team key, or null when it can. The team key signs
 * security.txt and mail, and reporters encrypt to it; GnuPG 2.2 must read it.
 */
export function problemWithTeamKey(facts: KeyFacts): string | null {
  if (!facts.isPrivate) {
    return "This is a public key. Import the private key (e.g. `gpg --armor --export-secret-keys KEYID`): the team key must sign and decrypt.";
  }
  if (facts.version !== 4) {
    return `This is a version ${facts.version} key. Shield publishes a version 4 key so that reporters using GnuPG 2.2 can read it.`;
  }
  if (facts.isRevoked) return "This key is revoked: it can no longer be trusted by anyone.";
  if (facts.isExpired) return "This key has expired. Extend its expiry date with `gpg --quick-set-expire` and export it again.";
  if (!facts.canSign) return "This key cannot sign (no valid signing key or subkey): Shield signs security.txt and its mail with the team key.";
  if (!facts.canEncrypt) return "This key cannot encrypt (no valid encryption subkey): reporters must be able to encrypt to the team key.";
  return null;
}

/**
 * Why a reporter's key cannot be used to write to them, or null when it can. Sending a
 * private key is refused loudly: it is the one mistake that compromises the reporter.
 */
export function problemWithReporterKey(facts: KeyFacts): string | null {
  if (facts.isPrivate) return PRIVATE_KEY_SENT;
  if (facts.isRevoked) return "This key is revoked. Send a current public key, or leave the field empty.";
  if (facts.isExpired) return "This key has expired. Extend it or send a current public key, or leave the field empty.";
  if (!facts.canEncrypt) return "This key has no usable encryption subkey, so we could not encrypt our replies to you. Send a key that can encrypt.";
  return null;
}

export const PRIVATE_KEY_SENT =
  "This is a PRIVATE key. Never send your private key to anyone: it lets them read everything encrypted to you. Send only your public key (e.g. `gpg --armor --export you@example.org`), and consider this private key compromised.";

/** Messages for keys that do not parse at all. */
export const KEY_UNREADABLE = {
  reporter: "This is not an ASCII-armoured OpenPGP public key. Paste the whole block from -----BEGIN PGP PUBLIC KEY BLOCK----- to -----END PGP PUBLIC KEY BLOCK-----.",
  severalReporterKeys: "This block holds several keys. Send only the one public key we should encrypt to.",
  team: "The file is not an ASCII-armoured OpenPGP private key (expected -----BEGIN PGP PRIVATE KEY BLOCK-----).",
  severalTeamKeys: "The file holds several keys. Export only the team key.",
} as const;

const DAY_MS = 24 * 3600_000;
/** RFC 9116 §2.5.5 recommends less than a year; half a year keeps the file clearly fresh. */
export const SECURITY_TXT_LIFETIME_MS = 180 * DAY_MS;
const SECURITY_TXT_MAX_LIFETIME_MS = 365 * DAY_MS;

export function securityTxtExpiry(now: Date, lifetimeMs = SECURITY_TXT_LIFETIME_MS): Date {
  return new Date(now.getTime() + Math.min(lifetimeMs, SECURITY_TXT_MAX_LIFETIME_MS));
}

export interface SecurityTxtInput {
  securityEmail: string;
  /** Public URL of Shield, without trailing slash. */
  baseUrl: string;
  expires: Date;
}

/**
 * The unsigned body of `/.well-known/security.txt` (RFC 9116). Every URI is https in a
 * real installation (the RFC requires it for Encryption/Policy/Canonical); Shield uses
 * its configured public URL.
 */
export function composeSecurityTxt(input: SecurityTxtInput): string {
  const base = input.baseUrl.replace(/\/+$/, "");
  return [
    `Contact: mailto:${input.securityEmail}`,
    `Contact: ${base}/security/report`,
    `Expires: ${input.expires.toISOString().replace(/\.\d{3}Z$/, "Z")}`,
    `Encryption: ${base}/security/pgp-key.asc`,
    `Acknowledgments: ${base}/security/thanks`,
    `Preferred-Languages: en`,
    `Canonical: ${base}/.well-known/security.txt`,
    `Policy: ${base}/security`,
    // The CSAF provider directory of the program's advisories (CSAF 2.0 §7.1.8).
    `CSAF: ${base}/.well-known/csaf/provider-metadata.json`,
    "",
  ].join("\n");
}

/**
 * How a mail to a reporter is encrypted: to the key they gave, with a Subject outside
 * the encryption that says nothing about the report.
 */
export function encryptionFor(report: { id: number; reporterPgpKey: string | null }): { publicKey: string; outerSubject: string } | undefined {
  if (!report.reporterPgpKey?.trim()) return undefined;
  return { publicKey: report.reporterPgpKey, outerSubject: `Encrypted message about your report #${report.id}` };
}
