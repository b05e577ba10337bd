export { submitReport, trackingUrlFor, RECEIPT_JOB, type SubmittedReport, type SubmitOptions } from "./intake.service.js";
export { createReceiptJob, formatUtc, type MailJobDeps } from "./receipt.job.js";
