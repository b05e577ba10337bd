import type { SubmitReportBody } from "../src/modules/reports/report.schemas.js";

let counter = 0;

/** A valid report submission; override any field. */
export function buildReportInput(overrides: Partial<SubmitReportBody> = {}): SubmitReportBody {
  counter++;
  return {
    channel: "vulnerability",
    title: `Stored XSS in the profile page #${counter}`,
    description: "The `name` field is rendered without escaping.\n\n1. Set your name to `<img src=x onerror=alert(1)>`\n2. Open your profile.",
    reporter: { name: "Ada Researcher", email: `ada${counter}@example.org` },
    ...overrides,
  };
}
