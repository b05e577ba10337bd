import { DomainError } from "../../shared/errors.js";

/**
 * Sign-in errors. Messages never tell whether an e-mail address belongs to a team member:
 * a wrong address and a wrong password read the same, and so does an account's limit.
 */
export const SignInFailedError = () => new DomainError("sign_in_failed", "unauthenticated", "The e-mail address or the password is not right.");

export const SignInLockedError = (windowMinutes: number) =>
  new DomainError(
    "sign_in_locked",
    "rate_limited",
    `Too many failed sign-in attempts from your network. Wait ${windowMinutes} minutes, then try again.`,
  );

/** Password and code together (a limited account): one message whichever of the three was wrong. */
export const BothFactorsFailedError = () =>
  new DomainError("both_factors_failed", "unauthenticated", "The e-mail address, the password or the code is not right.");

export const SecondFactorMissingError = () =>
  new DomainError(
    "second_factor_missing",
    "forbidden",
    "This account has no second factor yet, so it cannot sign in. Open the invite link you were sent, or ask an admin for a new one.",
  );

export const SecondFactorFailedError = (message = "That code is not right, or it has been used already.") =>
  new DomainError("second_factor_failed", "unauthenticated", message);

export const SessionRequiredError = (message = "Please sign in.") => new DomainError("session_required", "unauthenticated", message);

export const InviteInvalidError = () =>
  new DomainError("invite_invalid", "not_found", "This link is not valid: it was used already, it has expired, or it was replaced by a newer one. Ask an admin for a new one.");

export const PasswordConfirmationError = () =>
  new DomainError("password_confirmation_failed", "invalid", "Your current password is needed for this change.", {
    password: "This is not your current password.",
  });

export const PasskeyFailedError = (message: string) => new DomainError("passkey_failed", "invalid", message);

export const PasskeyNotFoundError = () => new DomainError("passkey_not_found", "not_found", "This passkey does not exist, or it is not yours.");

export const EnrolmentNotStartedError = () =>
  new DomainError("enrolment_not_started", "conflict", "There is no authenticator being set up. Start again from your account page.");
