export { checkEscalation, canReporterReply, creditFor, escalationRecipients, stateAfterReporterReply, ESCALATION_COOLDOWN_MS, EscalationRefusedError, type EscalationCheck } from "./portal.js";
export {
  findReportForReporter,
  submitReportFromWeb,
  openConfirmation,
  replyAsReporter,
  replyAsReporterByMail,
  changeCredit,
  escalateReport,
  TrackingLinkNotValidError,
  ESCALATION_MAIL_JOB,
  ESCALATION_WEBHOOK_JOB,
  CONFIRMATION_TTL_MS,
  type ReporterView,
} from "./portal.service.js";
export { createEscalationMailJob, createEscalationWebhookJob } from "./escalation.job.js";
export { listEscalationsOf } from "./portal.repository.js";
