import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * What a page that acts with the member's session may be fetched as (`Sec-Fetch-Dest`):
 * a page the member opens (`document`) or our own scripts' fetch calls (`empty`). Anything
 * else (an image, script, style, font, frame, object…) is something a page asked the
 * browser to load by itself, e.g. an image in reporter text naming `/desk/reports/2`, which
 * would be an audited read the member never made. Requests without the header (API
 * clients, curl, older browsers) are let through.
 */
const FETCHED_AS_PAGE = new Set(["document", "empty"]);

export function isSubresourceRequest(request: Pick<FastifyRequest, "headers">): boolean {
  const dest = request.headers["sec-fetch-dest"];
  return typeof dest === "string" && !FETCHED_AS_PAGE.has(dest);
}

/**
 * An onRequest hook for the team's pages: refuses a subresource request before any
 * session is read or anything is audited, with a 403 and no body worth rendering.
 */
export async function refuseSubresourceRequests(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (!isSubresourceRequest(request)) return undefined;
  request.log.warn({ dest: request.headers["sec-fetch-dest"] }, "refused a team page requested as a subresource");
  return reply.code(403).header("cache-control", "no-store").type("text/plain; charset=utf-8").send("Team pages are not loaded as images, scripts or other parts of a page.");
}
