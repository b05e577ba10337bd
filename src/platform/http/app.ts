import "../../shared/zod-messages.js";
import { randomUUID } from "node:crypto";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { DomainError, type ErrorKind } from "../../shared/errors.js";

export type HttpApp = FastifyInstance<any, any, any, FastifyBaseLogger, ZodTypeProvider>;

export interface HttpOptions {
  logger: FastifyBaseLogger;
  bodyLimit: number;
  trustProxy: boolean;
  /** Requests per minute per client address, for every route without its own limit. */
  apiRateLimit: number;
  version: string;
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
    const names = Object.keys(fields);
    return reply.code(400).send({
      error: { code: "validation_failed", message: `Please correct ${names.length === 1 ? "this field" : "these fields"}: ${names.join(", ")}.`, fields },
    } satisfies ErrorBody);
  }
  if (isResponseSerializationError(error)) {
    request.log.error({ err: error, issues: error.cause.issues }, "response did not match its schema");
    return reply.code(500).send({ error: { code: "internal", message: "Something went wrong on our side. It has been logged." } });
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

/**
 * The Fastify application without any product routes: security headers with a CSP that
 * allows no inline script or style and nothing from other origins, request ids, rate
 * limiting (opt-in per route), zod validation and the OpenAPI generator.
 */
export async function createHttpApp(options: HttpOptions): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[A-Za-z0-9._-]{1,100}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    return503OnClosing: true,
    forceCloseConnections: "idle",
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: "not_found", message: `Nothing at ${request.method} ${redactUrl(request.url)}.` } }),
  );
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  await app.register(helmet, {
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
  await app.register(rateLimit, {
    // Every route is limited per client address; routes may set their own (`config.rateLimit`).
    global: true,
    max: options.apiRateLimit,
    timeWindow: "1 minute",
    errorResponseBuilder: (_req, context) => ({
      statusCode: 429,
      code: "rate_limited",
      message: `Too many requests: at most ${context.max} per ${context.after}. Try again later.`,
    }),
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

/** Secrets in paths (tracking links, setup links) never reach the logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/security\/reports\/|\/setup\/)[^/?#]+/g, "$1[redacted]");
}
