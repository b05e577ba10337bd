export { ACCEPTED_KINDS_TEXT, classifyContent, contentDispositionFor, describeBytes, sanitizeFilename, AttachmentNotFoundError, type Attachment, type AttachmentLimits } from "./attachment.js";
export {
  stageUpload,
  stageTextAsSent,
  labelsKeptAsSent,
  storeUploads,
  discardUploads,
  recordAttachments,
  listAttachmentsOfReport,
  listAttachmentsAsTeam,
  openAttachmentAsTeam,
  removeLeftoverBlobs,
  STALE_FILE_AGE_MS,
  type AcceptedUpload,
  type UploadOutcome,
} from "./attachment.service.js";
export { sendAttachmentDownload, sendOpenedAttachment } from "./attachment.routes.js";
