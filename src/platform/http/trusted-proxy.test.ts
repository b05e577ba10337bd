import { Writable } from "node:stream";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, forEachDatabase, type TestDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { loadConfig } from "../../config.js";
import { createShield, type Shield } from "../../main.js";
import { createLogger } from "../logger.js";

const PROXY = "127.0.0.1";
const CLIENT = "203.0.113.7";

/** What a client behind the proxy sends: any X-Forwarded-For it likes, which the proxy extends with the address it saw. */
function throughProxy(spoofed: string): Record<string, string> {
  return { "x-forwarded-for": `${spoofed}, ${CLIENT}` };
}

describe("SHIELD_TRUST_PROXY", () => {
  it("takes false, a hop count (true is one hop), or the proxies' addresses and ranges", () => {
    expect(loadConfig({}).SHIELD_TRUST_PROXY).toBe(false);
    expect(loadConfig({ SHIELD_TRUST_PROXY: "false" }).SHIELD_TRUST_PROXY).toBe(false);
    expect(loadConfig({ SHIELD_TRUST_PROXY: "true" }).SHIELD_TRUST_PROXY).toBe(1);
    expect(loadConfig({ SHIELD_TRUST_PROXY: "2" }).SHIELD_TRUST_PROXY).toBe(2);
    expect(loadConfig({ SHIELD_TRUST_PROXY: "127.0.0.1, 10.0.0.0/8,::1,fd00::/8,loopback" }).SHIELD_TRUST_PROXY).toEqual(["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", "loopback"]);
    for (const bad of ["yes", "10.0.0.0/33", "proxy.internal", "127.0.0.1,", "1.2.3"]) {
      expect(() => loadConfig({ SHIELD_TRUST_PROXY: bad }), bad).toThrow(/SHIELD_TRUST_PROXY=.*must be false, a number of proxy hops/);
    }
  });
});

forEachDatabase((kind) => {
  for (const setting of [PROXY, "true", "1"]) {
    describe(`behind a proxy, with SHIELD_TRUST_PROXY=${setting}`, () => {
      let testDatabase: TestDatabase;
      let dataDir: string;
      let shield: Shield;
      const lines: string[] = [];

      beforeAll(async () => {
        testDatabase = await createTestDatabase(kind, { migrated: true });
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shield-data-"));
        const config = loadConfig({
          SHIELD_DATA_DIR: dataDir,
          DATABASE_URL: testDatabase.url,
          SHIELD_TRUST_PROXY: setting,
          SHIELD_INTAKE_RATE_LIMIT: "10",
          SHIELD_LOG_LEVEL: "info",
        });
        const sink = new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        });
        shield = await createShield(config, createLogger("info", sink));
      });
      afterAll(async () => {
        await shield.close();
        await testDatabase.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      });

      it("limits a client by the address its proxy saw, whatever it puts first in X-Forwarded-For", async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 13; i++) {
          const response = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput(), headers: throughProxy(`198.51.100.${i}`), remoteAddress: PROXY });
          statuses.push(response.statusCode);
        }
        expect(statuses).toEqual([...Array(10).fill(201), 429, 429, 429]);
        // Another client behind the same proxy is not held up by the first.
        const other = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput(), headers: { "x-forwarded-for": "192.0.2.99" }, remoteAddress: PROXY });
        expect(other.statusCode).toBe(201);
      });

      it("writes the proxy-seen address, never a spoofed entry, to the logs and the audit log", async () => {
        const page = await shield.app.inject({ method: "GET", url: "/login", headers: throughProxy("198.51.100.65"), remoteAddress: PROXY });
        const cookie = [page.headers["set-cookie"]].flat().map((c) => String(c).split(";")[0]).join("; ");
        const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
        const response = await shield.app.inject({
          method: "POST",
          url: "/login",
          payload: new URLSearchParams({ _csrf: csrf, email: "nobody@example.com", password: "wrong" }).toString(),
          headers: { ...throughProxy("198.51.100.66"), cookie, "content-type": "application/x-www-form-urlencoded" },
          remoteAddress: PROXY,
        });
        expect(response.statusCode).toBe(401);
        const events = await shield.database.db.selectFrom("audit_events").select("data").where("action", "=", "auth.login_failed").execute();
        expect(events.map((e) => JSON.parse(e.data).ip)).toEqual([CLIENT]);
        const logged = lines.join("");
        expect(logged).toContain(`"ip":"${CLIENT}"`);
        expect(logged).not.toMatch(/198\.51\.100\./);
        for (const event of events) expect(event.data).not.toMatch(/198\.51\.100\./);
      });
    });
  }
});
