export { submitReport, trackingUrlFor, INTAKE_RATE_LIMIT_GROUP, RECEIPT_JOB, type SubmittedReport, type SubmitOptions } from "./intake.service.js";
export { createReceiptDigestJob, createReceiptJob, formatUtc, type MailJobDeps, type ReceiptJobDeps } from "./receipt.job.js";
