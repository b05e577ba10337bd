export { composeTeamMail, composeWebhookText, type TeamNotice } from "./notice.js";
export {
  listTeam,
  notifyNewOwner,
  notifyOwnerOfReporterReply,
  notifySlaMiss,
  notifySlaWarning,
  notifyTeamOfNewReport,
  REPORT_RECEIVED_NOTICE_JOB,
  TEAM_MAIL_JOB,
  WEBHOOK_JOB,
} from "./notification.service.js";
export { createReportReceivedJob, createTeamMailJob, type TeamMailDeps } from "./team-mail.job.js";
export { createWebhookJob, postToWebhook, type WebhookDeps } from "./webhook.job.js";
