import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { HttpApp } from "../../platform/http/app.js";
import { renderPage, type PageData } from "../render.js";

export function sendPage(reply: FastifyReply, status: number, template: string, data: PageData): FastifyReply {
  return reply.code(status).type("text/html; charset=utf-8").send(renderPage(reply.request, template, data));
}

/**
 * What a form handler answers, decided first and sent last: the handler can then remove
 * the uploads it did not keep before the reporter's browser hears back.
 */
export type Answer = { page: { status: number; template: string; data: PageData } } | { redirect: string };

export const page = (status: number, template: string, data: PageData): Answer => ({ page: { status, template, data } });
export const redirect = (location: string): Answer => ({ redirect: location });

export function sendAnswer(reply: FastifyReply, answer: Answer): FastifyReply {
  if ("redirect" in answer) return reply.code(303).header("location", answer.redirect).send();
  return sendPage(reply, answer.page.status, answer.page.template, answer.page.data);
}

/**
 * Checks a form's CSRF token (double submit against the cookie) with the plugin's own
 * check, but returns its error instead of sending it, so that the caller can clean up
 * and then throw it to the page error handler (403).
 */
export function csrfFailure(site: HttpApp, request: FastifyRequest, token: string | undefined): FastifyError | null {
  (request as { body: unknown }).body = { _csrf: token ?? "" };
  let failure: FastifyError | null = null;
  let passed = false;
  const capture = { send: (error: FastifyError) => (failure = error) } as unknown as FastifyReply;
  site.csrfProtection(request, capture, () => {
    passed = true;
  });
  return passed ? null : (failure ?? (new Error("CSRF check failed") as FastifyError));
}
