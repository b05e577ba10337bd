export { checkEscalation, canReporterReply, creditFor, stateAfterReporterReply, ESCALATION_COOLDOWN_MS, EscalationRefusedError, type EscalationCheck } from "./reporter-side.js";
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
  type ReporterSideDeps,
  type ReporterView,
} from "./reporter-side.service.js";
export { listEscalationsOf } from "./reporter-side.repository.js";
