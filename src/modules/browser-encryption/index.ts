export {
  ENCRYPTED_REPORT_FIELDS,
  ENCRYPTED_FLAG_FIELD,
  ENCRYPTED_CONTENT_TYPE,
  isBrowserEncryptedForm,
  decryptedFilename,
  type EncryptedReportField,
} from "./browser-encryption.js";
export { markBrowserEncrypted } from "./browser-encryption.repository.js";
export { checkBrowserEncryptedForm, decryptReportForTeam, type DecryptedCopy, type EncryptedUpload } from "./browser-encryption.service.js";
