export {
  alertFor,
  computeDeadlines,
  evaluateServiceLevels,
  firstResponsePromise,
  type FirstResponsePromise,
  pausesFromTransitions,
  serviceLevelBasisOf,
  serviceTermsFor,
  termsOf,
  targetsFor,
  SLA_TARGETS,
  WARNING_SHARE,
  type ClockState,
  type Deadlines,
  type PauseInterval,
  type ServiceTerms,
  type SlaReport,
  type SlaTarget,
  type TargetStatus,
} from "./sla.js";
export { readPauses, readPausesOf, transitionsOf } from "./pauses.repository.js";
export { checkServiceLevels, SLA_CHECK_EVERY_MS, SLA_CHECK_TASK, type SlaCheckDeps, type SlaCheckOutcome } from "./sla-check.service.js";
