export { encryptionFor, teamKeyUserId, composeSecurityTxt, securityTxtExpiry, SECURITY_TXT_LIFETIME_MS } from "./keys.js";
export { validateReporterKey } from "./reporter-key.service.js";
export {
  ensureTeamKey,
  findTeamKey,
  importTeamKey,
  prepareTeamKeyring,
  TeamKeyring,
  decryptForTeam,
  decryptBinaryForTeam,
  decryptMailForTeam,
  MasterKeyMismatchError,
  MAX_DECRYPTED_BYTES,
  type TeamKey,
  type ImportedTeamKey,
} from "./team-key.service.js";
export { SecurityTxtPublisher } from "./security-txt.service.js";
