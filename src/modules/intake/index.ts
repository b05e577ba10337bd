export { submitReport, trackingUrlFor, INTAKE_RATE_LIMIT_GROUP, RECEIPT_JOB, type IntakeDeps, type SubmittedReport, type SubmitOptions } from "./intake.service.js";
export { submitReportBody, submitReportResponse, type SubmitReportBody } from "./intake.schemas.js";
export { createReceiptDigestJob, createReceiptJob, formatUtc, type ReceiptJobDeps } from "./receipt.job.js";
