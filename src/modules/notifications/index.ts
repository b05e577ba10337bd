export { composeTeamMail, composeWebhookText, type TeamNotice } from "./notice.js";
export {
  createNotificationSubscribers,
  listTeam,
  NOTIFICATION_SUBSCRIBERS,
  TEAM_MAIL_JOB,
  WEBHOOK_JOB,
  type NotificationDeps,
} from "./notification.service.js";
export { createTeamMailJob, type TeamMailDeps } from "./team-mail.job.js";
export { createWebhookJob, postToWebhook, type WebhookDeps } from "./webhook.job.js";
