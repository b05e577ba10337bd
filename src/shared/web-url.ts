import { z } from "zod";

/**
 * Links that people outside the team can follow: the support URL, the webhook, a
 * reporter's or an advisory's credit, a hall-of-fame entry. Only `http:` and `https:`
 * (a `javascript:` support link would run on every page that shows it), and never a
 * control character or space anywhere: a URL parser drops tabs and line breaks, so
 * `https://x.example/\r\nSet-Cookie: …` passes `new URL` and would be stored, exported
 * (OSV, CSAF, CVE) and echoed as sent.
 */

/** C0 controls, space, DEL, C1 controls, and the invisible spaces and text-direction marks. */
const FORBIDDEN = /[\u0000-\u0020\u007f-\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]/;

export type WebUrlProblem = "control_characters" | "not_http";

/** Why `value` is not a web URL, or null when it is one. */
export function webUrlProblem(value: string): WebUrlProblem | null {
  if (FORBIDDEN.test(value)) return "control_characters";
  if (!/^https?:\/\//i.test(value)) return "not_http";
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return "not_http";
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.hostname === "") return "not_http";
  return null;
}

/** True for an absolute http(s) URL without control characters or spaces. */
export function isWebUrl(value: string): boolean {
  return webUrlProblem(value) === null;
}

export const WEB_URL_MESSAGES: Record<WebUrlProblem, string> = {
  control_characters: "must not contain spaces, line breaks, tabs or other control characters",
  not_http: "must be an http(s) URL",
};

/** The one zod schema for such a link, at most `max` characters; its value is the text as sent. */
export function webUrl(max = 2000) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((value, context) => {
      const problem = webUrlProblem(value);
      if (problem) context.addIssue({ code: "custom", message: WEB_URL_MESSAGES[problem] });
    });
}
