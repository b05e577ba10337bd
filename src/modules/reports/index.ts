export * from "./report.js";
export { findReport, findReportByTrackingHash, insertReport, insertMessage, listMessages, type Message, type NewReport } from "./report.repository.js";
export { readReportAsTeam, listReportsForTeam, transitionReport, REPORT_UPDATE_JOB } from "./report.service.js";
export { reporterText } from "./report.schemas.js";
