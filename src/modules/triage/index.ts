export { checkCvssVector, describeCvssVector, listCvssMetrics, rateCvssScore, scoreCvssVector, InvalidCvssVectorError, CVSS_VERSIONS, type CvssScore, type CvssVersion, type CvssRating } from "./cvss.js";
export { lookUpCwe, searchCwe, CWE_VERSION, type CweEntry } from "./cwe.js";
export { changeReportChannel, updateReportTriage, postTeamMessage, addUpstream, changeUpstream, removeUpstream, findSimilarReports, type SimilarReport } from "./triage.service.js";
export { channelChangeBody, type ChannelChangeBody, patchReportBody, messageBody, createUpstreamBody, patchUpstreamBody, type PatchReportBody, type CreateUpstreamBody, type PatchUpstreamBody } from "./triage.schemas.js";
