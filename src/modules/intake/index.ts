export { submitReport, trackingUrlFor, RECEIPT_JOB, type SubmittedReport } from "./intake.service.js";
export { createReceiptJob, formatUtc, type MailJobDeps } from "./receipt.job.js";
