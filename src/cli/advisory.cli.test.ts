import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShield, runShieldJson } from "../../test/cli.js";
import { buildReportInput } from "../../test/factories.js";
import { createTestShield, type TestShield } from "../../test/shield.js";

describe("shield advisory …", () => {
  let shield: TestShield;
  let env: Record<string, string>;
  let reportId: number;
  beforeAll(async () => {
    shield = await createTestShield("sqlite");
    env = { DATABASE_URL: shield.testDatabase.url, SHIELD_DATA_DIR: shield.dataDir, SHIELD_BASE_URL: "https://security.example.test" };
    const submitted = await shield.app.inject({ method: "POST", url: "/api/v1/reports", payload: buildReportInput({ credit: { name: "Ada L." } }) });
    reportId = submitted.json().id;
  });
  afterAll(async () => shield.destroy());

  const write = (name: string, value: unknown) => {
    const file = path.join(shield.dataDir, name);
    fs.writeFileSync(file, JSON.stringify(value));
    return file;
  };

  it("writes a draft from a JSON file, refuses publication by the guard with its code, publishes with an override, and lists it", async () => {
    const file = write("advisory.json", { reportIds: [reportId], title: "Open redirect", summary: "The next parameter was not checked.", products: [{ vendor: "Example Inc.", product: "Basecamp", ranges: [{ introduced: "0", fixed: "4.2.1" }] }] });
    const draft = await runShieldJson(["advisory", "create", file], env);
    expect(draft).toMatchObject({ state: "draft", reportIds: [reportId], url: null });
    expect(draft.id).toMatch(/^SEC-\d{4}-001$/);

    const refused = await runShield(["advisory", "publish", draft.id, "--json"], env);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe("disclosure_guard");
    expect(JSON.parse(refused.stdout).error.message).toContain(`report #${reportId} is new, not resolved`);

    const published = await runShieldJson(["advisory", "publish", draft.id, "--override", "users are attacked now"], env);
    expect(published).toMatchObject({ state: "published", url: `https://security.example.test/security/advisories/${draft.id}` });
    const listed = await runShieldJson(["advisory", "list", "--state", "published"], env);
    expect(listed.advisories.map((a: { id: string }) => a.id)).toEqual([draft.id]);
    const human = await runShield(["advisory", "list"], env);
    expect(human.stdout).toContain(`${draft.id}  published`);
    expect((await shield.app.inject({ method: "GET", url: `/security/advisories/${draft.id}` })).statusCode).toBe(200);
  });

  it("refuses a file that does not fit the API's body, naming the field", async () => {
    const result = await runShield(["advisory", "create", write("bad.json", { reportIds: [], title: "x" }), "--json"], env);
    expect(result.code).toBe(1);
    const error = JSON.parse(result.stdout).error;
    expect(error.code).toBe("validation_failed");
    expect(error.fields).toHaveProperty("reportIds");
    expect(error.fields).toHaveProperty("products");
  });
});
