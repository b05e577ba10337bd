import { describe, expect, it } from "vitest";
import { composeTeamMail, composeWebhookText, type TeamNotice } from "./notice.js";

const due = "2026-03-02T11:00:00.000Z";
const report = { id: 7, channel: "account_attack" as const, title: "Locked out", receivedAt: "2026-03-02T09:00:00.000Z" };
const link = "https://security.example.test/desk/reports/7";
const escalated = (escalatedAt: string): TeamNotice => ({ kind: "escalated", escalatedAt, firstResponseDue: due });

describe("the escalation page to the team", () => {
  it("links to the report's desk page, writes times in the settings' time zone with the zone named, and counts in agreeing nouns", () => {
    const mail = composeTeamMail(escalated("2026-03-02T11:01:00.000Z"), report, link, "Europe/Berlin");
    expect(mail.subject).toBe("[#7] ESCALATED: no reply yet on account under attack");
    expect(mail.text).toContain("The reporter of #7 escalated it: nobody has answered yet.");
    expect(mail.text).toContain(`Answer the reporter and acknowledge the report: ${link}`);
    expect(mail.text).toContain("Received: Mon 2 Mar 2026, 10:00 CET (Europe/Berlin)");
    expect(mail.text).toContain("Promised first response by: Mon 2 Mar 2026, 12:00 CET (Europe/Berlin) (overdue by 1 minute)");
    expect(mail.text).not.toContain("/api/");
    const webhookText = composeWebhookText(escalated("2026-03-02T11:01:00.000Z"), report, link, "Europe/Berlin");
    expect(webhookText).toContain("(1 minute ago)");
    expect(webhookText).toContain(link);
    expect(webhookText).not.toContain("Locked out");
    expect(composeTeamMail(escalated("2026-03-03T11:00:00.000Z"), report, link, "UTC").text).toContain("Mon 2 Mar 2026, 11:00 UTC (overdue by 24 hours)");
    expect(composeTeamMail(escalated("2026-03-05T11:00:00.000Z"), report, link, "UTC").text).toContain("(overdue by 3 days)");
  });

  it("is marked urgent, as a page is", () => {
    expect(composeTeamMail(escalated("2026-03-02T11:01:00.000Z"), report, link, "UTC").headers).toMatchObject({ Importance: "high", "Auto-Submitted": "auto-generated" });
  });
});
