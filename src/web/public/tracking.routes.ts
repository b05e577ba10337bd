import type { FastifyReply } from "fastify";
import { z } from "zod";
import { discardUploads, stageTextAsSent } from "../../modules/attachments/index.js";
import { changeCredit, escalateReport, findReportForReporter, replyAsReporter } from "../../modules/reporter-side/index.js";
import type { HttpApp } from "../../platform/http/app.js";
import { DomainError } from "../../shared/errors.js";
import { NOT_UTF8_AGAIN, readMultipartForm } from "./multipart-form.js";
import { csrfFailure, page, redirect, sendAnswer, type Answer } from "./page-reply.js";
import type { PublicSiteDeps } from "./public-site.plugin.js";
import { replyText, toCredit } from "./report-form.js";
import { trackingPage, type TrackingPageExtras } from "./tracking-page.js";

/** Any string: the token is hashed and looked up whatever it looks like (no early answer on its format). */
const params = z.object({ token: z.string() });
const query = z.object({ done: z.enum(["reply", "reply-as-sent", "credit", "escalated"]).optional().catch(undefined) });

const DONE_NOTICE = {
  reply: "Your answer was sent to the security team.",
  "reply-as-sent":
    "Your answer was sent to the security team. Part of it was not valid UTF-8 text: it is shown with � where bytes could not be read, and the bytes exactly as you sent them are kept with it, as a file the team can download.",
  credit: "Saved: we will credit you as shown below.",
  escalated: "The security team has been paged. Someone will answer you as soon as possible.",
} as const;

/**
 * The reporter's tracking page `/security/reports/<token>` and its three forms: reply
 * (with attachments), credit, escalate. Pages are never cached and send no referrer;
 * an unknown token answers 404 with the same page.
 */
export function registerTrackingRoutes(site: HttpApp, deps: PublicSiteDeps): void {
  const { db, clock, blobs, limits } = deps;

  const notFound = (): Answer => page(404, "tracking", { title: "Tracking link not valid", found: false });

  /** The tracking page, or its 404 twin; `status` lets a refused form come back with 400/409. */
  async function reportPage(reply: FastifyReply, token: string, status: number, extras: TrackingPageExtras = {}): Promise<Answer> {
    const settings = await deps.settings.get();
    const view = await findReportForReporter(db, clock, settings, token);
    if (!view) return notFound();
    return page(status, "tracking", trackingPage(view, settings, limits, reply.csrfToken(), token, extras));
  }

  site.get("/security/reports/:token", { schema: { hide: true, params, querystring: query } }, async (request, reply) => {
    const done = request.query.done;
    return sendAnswer(reply, await reportPage(reply, request.params.token, 200, done ? { notice: DONE_NOTICE[done] } : {}));
  });

  const backTo = (token: string, done: keyof typeof DONE_NOTICE, anchor: string): Answer =>
    redirect(`/security/reports/${encodeURIComponent(token)}?done=${done}#${anchor}`);

  const isNotFound = (error: unknown) => error instanceof DomainError && error.kind === "not_found";

  site.post(
    "/security/reports/:token/replies",
    { schema: { hide: true, params }, config: { rateLimit: { max: deps.rateLimitPerMinute, timeWindow: "1 minute" } } },
    async (request, reply) => {
      const { token } = request.params;
      const form = await readMultipartForm(request, blobs, limits, "attachments", { keepInvalidUtf8: ["body"] });
      let stored = false;
      let answer: Answer;
      try {
        const csrf = csrfFailure(site, request, form.fields.get("_csrf"));
        if (csrf) throw csrf;
        const body = form.fields.get("body") ?? "";
        const errors: { body?: string; attachments?: string } = {};
        if (form.problems.body) errors.body = form.problems.body;
        else {
          const checked = replyText.safeParse(body);
          if (!checked.success) errors.body = checked.error.issues[0]?.message ?? "is not valid";
        }
        if (form.problems.attachments) errors.attachments = form.problems.attachments;
        if (errors.body || errors.attachments) {
          if (form.asSent.has("body")) errors.body ??= NOT_UTF8_AGAIN;
          answer = await reportPage(reply, token, 400, { reply: { body, errors, filesDropped: form.hadFiles } });
        } else {
          try {
            const asSent = form.asSent.get("body");
            if (asSent) form.uploads.push(await stageTextAsSent(blobs, "Answer", asSent));
            await replyAsReporter(deps, blobs, token, { body, uploads: form.uploads });
            stored = true;
            answer = backTo(token, asSent ? "reply-as-sent" : "reply", "thread");
          } catch (error) {
            if (isNotFound(error)) answer = notFound();
            else if (error instanceof DomainError && error.kind === "conflict") {
              answer = await reportPage(reply, token, 409, { problem: error.message, reply: { body, errors: form.asSent.has("body") ? { body: NOT_UTF8_AGAIN } : {}, filesDropped: form.hadFiles } });
            } else throw error;
          }
        }
      } finally {
        if (!stored) await discardUploads(blobs, form.uploads);
      }
      return sendAnswer(reply, answer);
    },
  );

  site.post("/security/reports/:token/credit", { schema: { hide: true, params } }, async (request, reply) => {
    const { token } = request.params;
    const form = await readMultipartForm(request, blobs, limits, null);
    const csrf = csrfFailure(site, request, form.fields.get("_csrf"));
    if (csrf) throw csrf;
    const values = { creditName: form.fields.get("creditName") ?? "", creditUrl: form.fields.get("creditUrl") ?? "", creditAnonymous: form.fields.get("creditAnonymous") ?? "" };
    const checked = toCredit(values);
    const errors = { ...(checked.ok ? {} : checked.errors) };
    if (form.problems.creditName) errors.creditName = form.problems.creditName;
    if (form.problems.creditUrl) errors.creditUrl = form.problems.creditUrl;
    if (!checked.ok || errors.creditName || errors.creditUrl) return sendAnswer(reply, await reportPage(reply, token, 400, { credit: { values, errors } }));
    try {
      await changeCredit(deps, token, checked.credit);
    } catch (error) {
      if (isNotFound(error)) return sendAnswer(reply, notFound());
      throw error;
    }
    return sendAnswer(reply, backTo(token, "credit", "credit"));
  });

  site.post("/security/reports/:token/escalation", { schema: { hide: true, params } }, async (request, reply) => {
    const { token } = request.params;
    const form = await readMultipartForm(request, blobs, limits, null);
    const csrf = csrfFailure(site, request, form.fields.get("_csrf"));
    if (csrf) throw csrf;
    try {
      await escalateReport(deps, await deps.settings.get(), token);
    } catch (error) {
      if (isNotFound(error)) return sendAnswer(reply, notFound());
      if (error instanceof DomainError && error.code === "escalation_refused") return sendAnswer(reply, await reportPage(reply, token, 409, { problem: error.message }));
      throw error;
    }
    deps.onChanged();
    return sendAnswer(reply, backTo(token, "escalated", "thread"));
  });
}
