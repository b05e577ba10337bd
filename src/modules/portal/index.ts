export { checkEscalation, canReporterReply, creditFor, stateAfterReporterReply, ESCALATION_COOLDOWN_MS, EscalationRefusedError, type EscalationCheck } from "./portal.js";
export {
  findReportForReporter,
  submitReportFromWeb,
  openConfirmation,
  replyAsReporter,
  replyAsReporterByMail,
  changeCredit,
  escalateReport,
  TrackingLinkNotValidError,
  CONFIRMATION_TTL_MS,
  type PortalDeps,
  type ReporterView,
} from "./portal.service.js";
export { listEscalationsOf } from "./portal.repository.js";
