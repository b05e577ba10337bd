import { describeKey, PgpError, readOneKey } from "../../platform/crypto/openpgp.js";
import { FieldsRefusedError } from "../../shared/errors.js";
import { KEY_UNREADABLE, PRIVATE_KEY_SENT, problemWithReporterKey } from "./keys.js";

const FIELD = "reporter.pgpKey";

const refuse = (problem: string) => FieldsRefusedError({ [FIELD]: problem });

/**
 * Checks a key a reporter gave us before anything is stored: one ASCII-armoured public
 * key that can encrypt now (not expired, not revoked). A private key is refused with a
 * warning, never stored. Nothing from the key is echoed in the messages.
 * @throws ValidationError with the field `reporter.pgpKey`
 */
export async function validateReporterKey(armored: string, now: Date = new Date()): Promise<{ fingerprint: string }> {
  let key;
  try {
    key = await readOneKey(armored);
  } catch (error) {
    if (error instanceof PgpError) {
      if (error.reason === "several_keys") throw refuse(KEY_UNREADABLE.severalReporterKeys);
      if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(armored)) throw refuse(PRIVATE_KEY_SENT);
      throw refuse(KEY_UNREADABLE.reporter);
    }
    throw error;
  }
  const facts = await describeKey(key, now);
  const problem = problemWithReporterKey(facts);
  if (problem) throw refuse(problem);
  return { fingerprint: facts.fingerprint };
}
