import "../../shared/zod-messages.js";
import { randomBytes, randomUUID } from "node:crypto";
import cookie from "@fastify/cookie";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import helmetMiddleware from "helmet";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { DomainError, describeFieldProblems, type ErrorKind } from "../../shared/errors.js";
import { isCsrfRefusal, registerCsrf, type CsrfOptions } from "./csrf.js";
import { rateLimitStoreWith, type DatabaseRateCounter } from "./shared-rate-limit.js";

export type HttpApp = FastifyInstance<any, any, any, FastifyBaseLogger, ZodTypeProvider>;

export interface HttpOptions {
  logger: FastifyBaseLogger;
  bodyLimit: number;
  /** Fastify's `trustProxy`: false, a hop count, or the proxies' addresses (the client is the rightmost address they did not write). */
  trustProxy: false | number | string[];
  /** Requests per minute per client address, for every route without its own limit. */
  apiRateLimit: number;
  version: string;
  /**
   * Where limits of routes that name a `groupId` (the public intake) are counted across
   * processes; without it, in this process's memory like every other limit.
   */
  sharedRateLimits?: DatabaseRateCounter;
  /** Shield is served over https (SHIELD_BASE_URL): cookies get the Secure flag (and the CSRF cookie the `__Host-` prefix). */
  secureCookies?: boolean;
  /** CSRF tokens: their key (one for all processes; random when absent), the session they are bound to, Shield's public origin. */
  csrf?: Partial<Omit<CsrfOptions, "secureCookies">>;
  /**
   * Runs on every request before the limits and the CSRF check, so that what it gives the
   * request is there for their refusals too (the pages' site info, web/site-info.ts).
   */
  prepareRequest?: (request: FastifyRequest) => Promise<void>;
}

const STATUS_OF: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
};

export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

/** Turns a zod issue list from fastify-type-provider-zod into `{ "reporter.email": "…" }`. */
function fieldsOf(error: FastifyError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.validation ?? []) {
    const path = issue.instancePath.replace(/^\//, "").replace(/\//g, ".");
    const params = issue.params as { keys?: string[] };
    if (issue.keyword === "unrecognized_keys" && params.keys) {
      for (const key of params.keys) fields[path ? `${path}.${key}` : key] = "is not a known field";
    } else {
      fields[path || (error.validationContext ?? "body")] ??= issue.message ?? "is not valid";
    }
  }
  return fields;
}

/**
 * The one place where errors become HTTP answers: domain errors by their kind,
 * validation as 400 with one message per field, framework errors by status, and
 * everything unknown as a plain 500 logged with the request id.
 */
function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof DomainError) {
    const body: ErrorBody = { error: { code: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) } };
    return reply.code(STATUS_OF[error.kind]).send(body);
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const fields = fieldsOf(error);
    return reply.code(400).send({ error: { code: "validation_failed", message: describeFieldProblems(fields), fields } } satisfies ErrorBody);
  }
  if (isResponseSerializationError(error)) {
    request.log.error({ err: error, issues: error.cause.issues }, "response did not match its schema");
    return reply.code(500).send({ error: { code: "internal", message: "Something went wrong on our side. It has been logged." } });
  }
  if (isCsrfRefusal(error)) {
    return reply.code(403).send({ error: { code: "csrf_failed", message: "This form is out of date or did not come from this site. Reload the page and send it again." } });
  }
  const status = error.statusCode ?? 500;
  if (status === 413) return reply.code(413).send({ error: { code: "payload_too_large", message: "The request body is too large." } });
  if (status === 429) return reply.code(429).send({ error: { code: "rate_limited", message: error.message } });
  if (status === 415) return reply.code(415).send({ error: { code: "unsupported_media_type", message: "Send JSON with Content-Type: application/json." } });
  if (status >= 400 && status < 500) {
    return reply.code(status).send({ error: { code: error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || error.code === "FST_ERR_CTP_EMPTY_JSON_BODY" ? "invalid_json" : "bad_request", message: error.message } });
  }
  request.log.error({ err: error }, "unhandled error");
  return reply.code(500).send({ error: { code: "internal", message: "Something went wrong on our side. It has been logged." } });
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** One log line per request, when it is answered, carrying the request too; Fastify writes two. */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, "request errored");
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, "request completed");
  }
}

function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

/**
 * The Fastify application without any product routes: security headers with a CSP that
 * allows no inline script or style and nothing from other origins, request ids, rate
 * limiting (opt-in per route), zod validation and the OpenAPI generator.
 */
export async function createHttpApp(options: HttpOptions): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    // A hop count as the function proxy-addr makes of one (Fastify's types leave numbers out): the socket is hop 0.
    trustProxy: typeof options.trustProxy === "number" ? trustHops(options.trustProxy) : options.trustProxy,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[A-Za-z0-9._-]{1,100}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    logController: new OneLinePerRequest(),
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // A path parameter as long as a request line can be (Node takes 16 KiB of headers):
    // an unknown tracking token of any length must get the same 404 page as any other,
    // not Fastify's JSON "414 URI Too Long" past 100 characters. Parameters are checked
    // by their routes' schemas.
    routerOptions: { maxParamLength: 16 * 1024 },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(sendError);
  // JSON bodies are decoded strictly: Fastify's parser would replace bytes that are not
  // UTF-8 with U+FFFD and store a report that differs from what was sent (decision 0010).
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    let text: string;
    try {
      text = strictUtf8.decode(body as Buffer);
    } catch {
      done(new DomainError("invalid_utf8", "invalid", "The request body is not valid UTF-8 text; send JSON encoded as UTF-8."), undefined);
      return;
    }
    parseJson(request, text, done);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: "not_found", message: `Nothing at ${request.method} ${redactUrl(request.url)}.` } }),
  );
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    await options.prepareRequest?.(request);
  });
  // On shutdown, a keep-alive connection whose request was in flight would stay open
  // after its answer until the client's idle timeout, holding up the clean exit on
  // SIGTERM: answers given while closing end their connection.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });

  const securityHeaders = computeSecurityHeaders({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: "no-referrer" },
  });
  app.addHook("onRequest", async (_request, reply) => {
    for (const [name, value] of securityHeaders) reply.raw.setHeader(name, value);
  });
  await app.register(rateLimit, {
    // Every route is limited per client address; routes may set their own (`config.rateLimit`).
    global: true,
    store: rateLimitStoreWith(options.sharedRateLimits),
    max: options.apiRateLimit,
    timeWindow: "1 minute",
    errorResponseBuilder: (_req, context) => ({
      statusCode: 429,
      code: "rate_limited",
      message: `Too many requests: at most ${context.max} per ${context.after}. Try again later.`,
    }),
  });
  // Registered once, here, for every form on the site (team pages and the public report
  // form): routes take `preHandler: app.csrfProtection` (after the body is parsed, since
  // the token travels as the `_csrf` field, or an `x-csrf-token` header for fetch calls)
  // and pages put `reply.csrfToken()` in a hidden `_csrf` field (see csrf.ts).
  await app.register(cookie);
  await registerCsrf(app, {
    secureCookies: options.secureCookies ?? false,
    key: options.csrf?.key ?? randomBytes(32),
    sessionOf: options.csrf?.sessionOf,
    publicOrigin: options.csrf?.publicOrigin,
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Shield API",
        version: options.version,
        description: "Security response desk. Submitting a report is public; every other call needs `Authorization: Bearer <token>` (see `shield token create`).",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
    transform: jsonSchemaTransform,
  });
  return app;
}

type HeaderRecorder = { setHeader(name: string, value: string): void; removeHeader(name: string): void };
type Helmet = (options: object) => (req: object, res: HeaderRecorder, next: (error?: unknown) => void) => void;

/**
 * helmet itself rather than @fastify/helmet: the plugin rebuilds helmet's middleware
 * (CSP parsing included) on every request, about 5% of the CPU time of a report
 * submission (bench/intake.bench.js). Our headers are the same on every answer, so
 * helmet runs once at start-up and each request gets the recorded headers
 * (docs/decisions/0008-security-headers-once.md).
 */
const helmet = helmetMiddleware as unknown as Helmet;

function computeSecurityHeaders(options: object): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  helmet(options)({}, { setHeader: (name, value) => headers.push([name, String(value)]), removeHeader: () => {} }, (error) => {
    if (error) throw error;
  });
  return headers;
}

/** Secrets in paths (tracking links, setup links) never reach the logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/security\/reports\/|\/setup\/|\/invite\/)[^/?#]+/g, "$1[redacted]");
}
