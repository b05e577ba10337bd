import type { Advisory } from "./advisory.js";

/** Who publishes, and where: what every export needs besides the advisory itself. */
export interface ExportContext {
  /** The company (CSAF publisher, CVE vendor default). */
  publisherName: string;
  /** Shield's public base URL, without a trailing slash (CSAF publisher namespace). */
  baseUrl: string;
  /** The security team's address (CSAF contact details). */
  contactEmail: string;
  /** The CNA's organisation UUID and short name (CVE JSON 5); null when the program is no CNA. */
  cveOrgId: string | null;
  cveShortName: string | null;
}

/** The public page of an advisory. */
export function advisoryPageUrl(context: Pick<ExportContext, "baseUrl">, advisory: Pick<Advisory, "publicId">): string {
  return `${context.baseUrl}/security/advisories/${advisory.publicId}`;
}
