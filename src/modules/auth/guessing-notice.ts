import { countOf, formatInstantIn } from "../../shared/human-time.js";

/**
 * The mail that tells a member their account is under password guessing. Pure. It says
 * what happened and what still works, and never which address or password was tried:
 * the member needs to act, not to read the attacker's guesses.
 */
export interface GuessingNotice {
  email: string;
  /** Failed sign-ins of the account within the window, when the notice was decided. */
  failures: number;
  windowMinutes: number;
  /** When the limit was reached (ISO). */
  at: string;
}

export function composeGuessingNotice(notice: GuessingNotice, signInUrl: string, timeZone: string): { subject: string; text: string; headers: Record<string, string> } {
  const text = [
    `${countOf(notice.failures, "sign-in attempt")} to your Shield account (${notice.email}) failed within ${countOf(notice.windowMinutes, "minute")}, up to ${formatInstantIn(notice.at, timeZone)}.`,
    "Someone may be guessing your password.",
    "",
    "While this goes on, you can still sign in: the sign-in page asks for your password",
    "and the code from your authenticator app (or a recovery code) together, and accepts",
    "the attempt only when both are right.",
    "",
    "If these attempts were not yours, change your password on your account page once you",
    "are signed in, and tell your team's admin. If they were yours, there is nothing to do.",
    "You get this mail at most once every " + countOf(notice.windowMinutes, "minute") + ".",
    "",
    `Sign in: ${signInUrl}`,
    "",
    "-- ",
    "Shield (automatic message about your team account)",
  ].join("\n");
  return {
    subject: "Failed sign-ins to your Shield account",
    text,
    headers: { "Auto-Submitted": "auto-generated", Importance: "high", "X-Priority": "1 (Highest)", Priority: "urgent" },
  };
}
