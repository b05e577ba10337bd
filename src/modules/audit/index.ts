export { describeActor, type Actor, type AuditEntry, type AuditEvent } from "./audit.js";
export { appendAuditEvent, queueAuditEvent, listAuditEventsFor, listAuditEventsOf, listLatestAuditEventsFor } from "./audit.repository.js";
export { keyAuditLog, readAuditHead, verifyAuditLog, type AuditHead, type AuditVerification } from "./audit.service.js";
