export { SESSION_KINDS, INVITE_LIFETIME_MS, type SessionKind, type SessionPolicy, type SignInLimits } from "./auth.js";
export { findPasswordProblem, PASSWORD_MIN_LENGTH } from "./password.rules.js";
export { createMasterKeySealer, type SecretSealer } from "./totp-secret.sealer.js";
export { startSession, resumeSession, endSession, type AuthContext, type ActiveSession } from "./session.service.js";
export {
  verifyPasswordStep,
  verifyBothFactors,
  verifyTotpStep,
  verifyRecoveryCodeStep,
  verifyPasskeyStep,
  createPasskeySignInOptions,
  hasPasskeys,
  type SignedIn,
  type PasswordStepResult,
} from "./sign-in.service.js";
export { createGuessingNoticeJob, GUESSING_NOTICE_JOB } from "./guessing-notice.job.js";
export {
  createInvite,
  inviteUrlFor,
  findOpenInvite,
  acceptInvite,
  completeFirstAdminSetup,
  describeTotpEnrolment,
  confirmTotpEnrolment,
  changePassword,
  regenerateRecoveryCodes,
  createOwnApiToken,
  startTotpReenrolment,
  createPasskeyRegistrationOptions,
  addPasskey,
  removePasskey,
  describeAccount,
  type EnrolmentResult,
} from "./account.service.js";
export {
  requireSession,
  requirePendingSession,
  sessionOf,
  setSessionCookie,
  clearSessionCookie,
  readSessionToken,
  sessionCookieName,
  type PageAccess,
} from "./session.hook.js";
