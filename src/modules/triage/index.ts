export { checkCvssVector, describeCvssVector, listCvssMetrics, rateCvssScore, scoreCvssVector, InvalidCvssVectorError, CVSS_VERSIONS, type CvssScore, type CvssVersion, type CvssRating } from "./cvss.js";
export { lookUpCwe, searchCwe, CWE_VERSION, type CweEntry } from "./cwe.js";
export { changeReportChannel, updateReportTriage, postTeamMessage, addUpstream, changeUpstream, removeUpstream, findSimilarReports, type SimilarReport, type TriageDeps } from "./triage.service.js";
export { BOUNTY_DECISION_JOB, createBountyDecisionJob } from "./bounty-decision.job.js";
export { channelChangeBody, type ChannelChangeBody, patchReportBody, messageBody, createUpstreamBody, patchUpstreamBody, type PatchReportBody, type CreateUpstreamBody, type PatchUpstreamBody } from "./triage.schemas.js";
