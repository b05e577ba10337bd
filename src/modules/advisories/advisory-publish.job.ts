import { handleJob } from "../../platform/jobs/job.js";
import { ADVISORY_PUBLISH_JOB, runScheduledPublication, type AdvisoryDeps } from "./advisory.service.js";

/**
 * The scheduled publication at its time: the guard is checked again then (see
 * `runScheduledPublication`). A job for a time the advisory no longer has does nothing.
 */
export function createScheduledPublicationJob(deps: AdvisoryDeps & { onPublished: () => void }) {
  return handleJob(ADVISORY_PUBLISH_JOB, async (payload) => {
    const outcome = await runScheduledPublication(deps, payload);
    if (outcome === "published") deps.onPublished();
  });
}
