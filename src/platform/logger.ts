import pino, { type Logger } from "pino";
import { redactUrl } from "./http/app.js";

/**
 * JSON logs on standard output. Request bodies are never logged; headers that carry
 * credentials, and any field that could hold a report body, token or key, are censored;
 * secret path segments are cut from URLs.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "shield" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "req.headers.authorization",
          "req.headers.cookie",
          'res.headers["set-cookie"]',
          "*.description",
          "*.pgpKey",
          "*.token",
          "*.password",
          "*.secretTrackingToken",
          "*.privateKey",
        ],
        censor: "[redacted]",
      },
      serializers: {
        req(request: { id: string; method: string; url: string; ip?: string }) {
          return { id: request.id, method: request.method, url: redactUrl(request.url), ip: request.ip };
        },
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}
