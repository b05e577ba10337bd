import type { z } from "zod";
import type { Advisory } from "./advisory.js";
import type { advisoryView } from "./advisory.schemas.js";
import { advisoryPageUrl } from "./export-context.js";

/** An advisory as the team API shows it. */
export function presentAdvisory(advisory: Advisory, baseUrl: string): z.infer<typeof advisoryView> {
  return {
    id: advisory.publicId,
    state: advisory.state,
    content: advisory.content,
    reportIds: advisory.reportIds,
    scheduledAt: advisory.scheduledAt,
    publishedAt: advisory.publishedAt,
    guardOverride: advisory.guardOverride,
    createdAt: advisory.createdAt,
    updatedAt: advisory.updatedAt,
    url: advisory.state === "published" ? advisoryPageUrl({ baseUrl }, advisory) : null,
    revisions: advisory.revisions.map((r) => ({ number: r.number, summary: r.summary, publishedAt: r.publishedAt })),
  };
}
