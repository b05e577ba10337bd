import type { NewReport } from "../src/modules/reports/report.js";
import type { SubmitReportBody } from "../src/modules/intake/index.js";

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

/** A report as `insertReport` takes it (what a reporter gives, already checked); override any field. */
export function buildNewReport(overrides: Partial<NewReport> = {}): NewReport {
  const at = "2026-03-02T10:15:00.000Z";
  return {
    channel: "vulnerability",
    state: "new",
    source: "api",
    title: "Reflected XSS",
    description: "The quokkaword parameter is reflected.",
    steps: null,
    impact: null,
    asset: null,
    reporterName: "R",
    reporterEmail: "r@example.org",
    reporterPgpKey: null,
    creditName: null,
    creditUrl: null,
    aiUsed: null,
    receivedAt: at,
    updatedAt: at,
    ...overrides,
  };
}
