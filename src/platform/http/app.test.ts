import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpApp, type HttpApp } from "./app.js";

describe("security headers", () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await createHttpApp({ logger: pino({ level: "silent" }), bodyLimit: 1000, trustProxy: false, apiRateLimit: 100, version: "test" });
    app.get("/page", async (_request, reply) => reply.type("text/html").send("<p>hello</p>"));
    await app.ready();
  });
  afterAll(async () => app.close());

  const expected = {
    "content-security-policy":
      "default-src 'none';script-src 'self';style-src 'self';img-src 'self' data:;font-src 'self';connect-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none';object-src 'none'",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };

  it("sends the same strict policy on every answer, errors included", async () => {
    for (const url of ["/page", "/page", "/nothing-here"]) {
      const response = await app.inject({ url });
      expect(response.headers).toMatchObject(expected);
      expect(response.headers["cross-origin-embedder-policy"]).toBeUndefined();
    }
  });

  it("answers a body over the limit with the same headers", async () => {
    app.log.level = "silent";
    const response = await app.inject({ method: "POST", url: "/page", payload: { text: "x".repeat(2000) } });
    expect(response.statusCode).not.toBe(200);
    expect(response.headers).toMatchObject(expected);
  });
});
