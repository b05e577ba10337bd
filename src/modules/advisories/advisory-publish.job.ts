import type { JobHandler } from "../../platform/jobs/worker.js";
import { runScheduledPublication, type AdvisoryDeps } from "./advisory.service.js";

/**
 * The scheduled publication at its time: the guard is checked again then (see
 * `runScheduledPublication`). A job for a time the advisory no longer has does nothing.
 */
export function createScheduledPublicationJob(deps: AdvisoryDeps & { onPublished: () => void }): JobHandler {
  return async (payload) => {
    const outcome = await runScheduledPublication(deps, { advisoryId: Number(payload.advisoryId), scheduledAt: String(payload.scheduledAt) });
    if (outcome === "published") deps.onPublished();
  };
}
