export * from "./advisory.js";
export { type ExportContext, advisoryPageUrl } from "./export-context.js";
export { exportOsv } from "./osv.exporter.js";
export { exportCsaf, csafDocumentUrl } from "./csaf.exporter.js";
export { exportCve } from "./cve.exporter.js";
export {
  ADVISORY_PUBLISH_JOB,
  createAdvisory,
  updateAdvisory,
  publishAdvisory,
  scheduleAdvisory,
  unscheduleAdvisory,
  runScheduledPublication,
  checkGuardOf,
  readAdvisoryAsTeam,
  listAdvisories,
  findPublishedAdvisory,
  type AdvisoryDeps,
  type AdvisoryCaller,
} from "./advisory.service.js";
export { listAdvisoryIdsOfReport, listAdvisoryIdsOfReports } from "./advisory.repository.js";
export { presentAdvisory } from "./advisory.presenter.js";
export { createAdvisoryBody, patchAdvisoryBody, scheduleAdvisoryBody, publishAdvisoryBody, type CreateAdvisoryBody, type PatchAdvisoryBody } from "./advisory.schemas.js";
export { createScheduledPublicationJob } from "./advisory-publish.job.js";
export { CSAF_ROOT, CSAF_WHITE, csafFileName, csafPathOf, csafDocumentText, composeChangesCsv, composeIndexTxt, composeProviderMetadata } from "./csaf-provider.js";
