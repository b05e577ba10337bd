/**
 * Domain errors. Each has a stable `code` that clients may rely on, and a kind that
 * the HTTP layer maps to a status (the only place that knows about HTTP).
 */
export type ErrorKind = "invalid" | "unauthenticated" | "forbidden" | "not_found" | "conflict" | "too_large" | "rate_limited";

export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const ValidationError = (message: string, fields: Record<string, string> = {}) =>
  new DomainError("validation_failed", "invalid", message, fields);

/** The one sentence above field errors, naming the fields: "Please correct this field: amount." */
export function describeFieldProblems(fields: Record<string, string>): string {
  const names = Object.keys(fields);
  return `Please correct ${names.length === 1 ? "this field" : "these fields"}: ${names.join(", ")}.`;
}

/** Input refused field by field (the API's `fields`, a form's errors next to its inputs). */
export const FieldsRefusedError = (fields: Record<string, string>) => ValidationError(describeFieldProblems(fields), fields);
export const UnauthenticatedError = (message = "A valid API token is required: Authorization: Bearer <token>.") =>
  new DomainError("unauthenticated", "unauthenticated", message);
export const ForbiddenError = (message = "Your role does not allow this.") => new DomainError("forbidden", "forbidden", message);
export const ReportNotFoundError = (id: number | string) => new DomainError("report_not_found", "not_found", `Report ${id} does not exist.`);
export const UserNotFoundError = (who: string) => new DomainError("user_not_found", "not_found", `No team member ${who}.`);
export const JobNotFoundError = (id: number) => new DomainError("job_not_found", "not_found", `Job ${id} does not exist.`);
export const IllegalTransitionError = (from: string, to: string, why: string) =>
  new DomainError("illegal_transition", "conflict", `A report cannot go from ${from} to ${to}: ${why}`);
export const UserExistsError = (email: string) => new DomainError("user_exists", "conflict", `A team member ${email} already exists.`);
export const SetupClosedError = () =>
  new DomainError("setup_closed", "not_found", "This setup link is no longer valid: the first admin exists already.");
