import { describeElapsedMinutes, formatInstantIn } from "../../shared/human-time.js";
import { CHANNEL_LABELS, subjectSafe, type Report } from "../reports/index.js";
import type { SlaTarget } from "../sla/index.js";

/**
 * What Shield tells its team, as words. Pure. A notice never carries the report body:
 * mail may leave encrypted storage in the clear, so it names the report (id, channel,
 * title made one-line) and links to it. Webhook texts carry no reporter-written text at
 * all: a chat channel is wider than the team, and titles may hold chat markup.
 */
export type TeamNotice =
  | { kind: "report_received" }
  | { kind: "account_attack" }
  | { kind: "sla_warning"; target: SlaTarget; dueAt: string }
  | { kind: "sla_missed"; target: SlaTarget; dueAt: string }
  | { kind: "reporter_reply"; messageId: number }
  /** A member was made the report's owner by someone else (`by`: their name). */
  | { kind: "owner_assigned"; by: string }
  /** The reporter pressed Escalate: the promised first response (`firstResponseDue`) passed unanswered. */
  | { kind: "escalated"; escalatedAt: string; firstResponseDue: string };

export interface ComposedTeamMail {
  subject: string;
  text: string;
  headers: Record<string, string>;
}

const TARGET_WORDS: Record<SlaTarget, string> = {
  firstResponse: "first response",
  triage: "triage",
  resolution: "resolution",
};

export function isUrgent(notice: TeamNotice): boolean {
  return notice.kind === "account_attack" || notice.kind === "sla_missed" || notice.kind === "escalated";
}

type NoticeReport = Pick<Report, "id" | "channel" | "title" | "receivedAt">;

/**
 * One notice as mail to the team. Times are written in `timeZone` (the settings'), named;
 * `link` is the report's page on the desk.
 */
export function composeTeamMail(notice: TeamNotice, report: NoticeReport, link: string, timeZone: string): ComposedTeamMail {
  const at = (iso: string) => formatInstantIn(iso, timeZone);
  const channel = CHANNEL_LABELS[report.channel];
  const title = subjectSafe(report.title);
  const facts = [`Report:   #${report.id} ${subjectSafe(report.title, 200)}`, `Channel:  ${channel}`, `Received: ${at(report.receivedAt)}`];
  let subject: string;
  let lead: string[];
  switch (notice.kind) {
    case "report_received":
      subject = `[#${report.id}] New report: ${title}`;
      lead = ["A new report came in."];
      break;
    case "account_attack":
      subject = `[URGENT] [#${report.id}] Account under attack: ${title}`;
      lead = ["URGENT: someone reports that an account is under attack. The promise is a first response within the target, around the clock: answer now."];
      break;
    case "sla_warning":
      subject = `[#${report.id}] ${capitalize(TARGET_WORDS[notice.target])} due ${at(notice.dueAt)}: ${title}`;
      lead = [`Three quarters of the ${TARGET_WORDS[notice.target]} time for this report are used up.`, `Due: ${at(notice.dueAt)}`];
      break;
    case "sla_missed":
      subject = `[URGENT] [#${report.id}] Missed ${TARGET_WORDS[notice.target]} target: ${title}`;
      lead = [`The ${TARGET_WORDS[notice.target]} target for this report was missed.`, `It was due: ${at(notice.dueAt)}`];
      break;
    case "reporter_reply":
      subject = `[#${report.id}] The reporter answered: ${title}`;
      lead = ["The reporter wrote a new message on this report."];
      break;
    case "owner_assigned":
      subject = `[#${report.id}] You own this report now: ${title}`;
      lead = [`${subjectSafe(notice.by, 200)} made you the owner of this report: its clocks and alerts are yours now.`];
      break;
    case "escalated":
      subject = `[#${report.id}] ESCALATED: no reply yet on ${channel.toLowerCase()}`;
      lead = [`The reporter of #${report.id} escalated it: nobody has answered yet.`];
      facts.push(`Promised first response by: ${at(notice.firstResponseDue)} (overdue by ${overdueWords(notice)})`);
      break;
  }
  const action = notice.kind === "escalated" ? "Answer the reporter and acknowledge the report" : "Open the report";
  const text = [...lead, "", ...facts, "", `${action}: ${link}`, "", "-- ", "Shield (automatic message to the security team)"].join("\n");
  const headers: Record<string, string> = { "Auto-Submitted": "auto-generated" };
  if (isUrgent(notice)) Object.assign(headers, { Importance: "high", "X-Priority": "1 (Highest)", Priority: "urgent" });
  return { subject, text, headers };
}

/** The text of a Slack-compatible webhook message (`{"text": …}`). */
export function composeWebhookText(notice: TeamNotice, report: Pick<Report, "id" | "channel">, link: string, timeZone: string): string {
  const at = (iso: string) => formatInstantIn(iso, timeZone);
  const channel = CHANNEL_LABELS[report.channel];
  switch (notice.kind) {
    case "account_attack":
      return `URGENT: new report #${report.id} (${channel}): an account is under attack. Answer now: ${link}`;
    case "sla_missed":
      return `Missed ${TARGET_WORDS[notice.target]} target on report #${report.id} (${channel}); it was due ${at(notice.dueAt)}. ${link}`;
    case "sla_warning":
      return `Report #${report.id} (${channel}): ${TARGET_WORDS[notice.target]} due ${at(notice.dueAt)}. ${link}`;
    case "report_received":
      return `New report #${report.id} (${channel}). ${link}`;
    case "reporter_reply":
      return `The reporter answered on report #${report.id} (${channel}). ${link}`;
    case "owner_assigned":
      return `Report #${report.id} (${channel}) has a new owner. ${link}`;
    case "escalated":
      return `Escalation: report #${report.id} (${channel}) has had no reply; the promised first response was due ${at(notice.firstResponseDue)} (${overdueWords(notice)} ago). The reporter pressed Escalate. ${link}`;
  }
}

function overdueWords(notice: { escalatedAt: string; firstResponseDue: string }): string {
  return describeElapsedMinutes((Date.parse(notice.escalatedAt) - Date.parse(notice.firstResponseDue)) / 60_000);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
