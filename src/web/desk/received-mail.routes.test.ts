import { afterAll, beforeAll, expect, it } from "vitest";
import { FakeClock, HOUR } from "../../../test/clock.js";
import { forEachDatabase } from "../../../test/databases.js";
import { parseHtml } from "../../../test/html.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { addEnrolledMember, TestBrowser, totpCodeAt, type EnrolledMember } from "../../../test/sign-in.js";
import { armorPublicKey, generateKeyPair } from "../../platform/crypto/openpgp.js";

/** The text a person reads in an element, whitespace collapsed. */
function textOf(element: Element | null | undefined): string {
  return (element?.textContent ?? "").replace(/\s+/g, " ").trim();
}

/** Each term of a description list with its description, as a reader pairs them. */
function factsOf(list: Element | null | undefined): Record<string, string> {
  const facts: Record<string, string> = {};
  for (const dt of list?.querySelectorAll("dt") ?? []) facts[textOf(dt)] = textOf(dt.nextElementSibling);
  return facts;
}

forEachDatabase((kind) => {
  let shield: TestShield;
  let clock: FakeClock;
  let triager: EnrolledMember;
  let viewer: EnrolledMember;
  let ip = 0;
  let reportId: number;
  let offeredKey: string;
  let fingerprint: string;

  beforeAll(async () => {
    clock = new FakeClock();
    // example.org lets 203.0.113.5 send its mail: the message below passes SPF.
    shield = await createTestShield(kind, { clock, dns: { "example.org TXT": [["v=spf1 ip4:203.0.113.5 -all"]] } });
    triager = await addEnrolledMember(shield, clock, "triager");
    viewer = await addEnrolledMember(shield, clock, "viewer");
    const key = await generateKeyPair({ name: "Ada", email: "ada@example.org" }, new Date(clock.now().getTime() - HOUR));
    offeredKey = armorPublicKey(key);
    fingerprint = key.getFingerprint().toUpperCase();
    const keydata = Buffer.from(key.toPublic().write()).toString("base64");
    const raw = Buffer.from(
      [
        "From: Ada <ada@example.org>",
        "To: security@example.com",
        "Subject: Session fixation on login",
        "Message-ID: <fixation@example.org>",
        `Autocrypt: addr=ada@example.org; keydata=${keydata}`,
        "",
        "The session id survives sign-in.",
        "",
      ].join("\r\n"),
    );
    const outcome = await shield.inboundMail.receive(raw, { via: "smtp", mailFrom: "ada@example.org", rcptTo: ["security@example.com"], remoteAddress: "203.0.113.5", heloName: "mx.example.org" });
    if (outcome.outcome !== "report") throw new Error(`expected a report, got ${outcome.outcome}`);
    reportId = outcome.reportId;
  });
  afterAll(async () => shield.destroy());

  const signedIn = async (who: EnrolledMember) => {
    clock.advance(30_000);
    const b = new TestBrowser(shield, `198.51.100.${++ip}`);
    const done = await b.signIn(who.member.email, who.password, await totpCodeAt(who.secret, clock));
    expect(done.statusCode).toBe(303);
    return b;
  };

  it("shows the team what Shield found out about a mailed report: authentication, encryption, signature and the offered key", async () => {
    const b = await signedIn(viewer);
    const page = await b.get(`/desk/reports/${reportId}`);
    expect(page.statusCode).toBe(200);
    const section = parseHtml(page.body).querySelector("#received-mail");
    expect(textOf(section?.querySelector("h3"))).toBe("Opened the report, 2026-03-02 09:00 UTC over SMTP");
    const facts = factsOf(section?.querySelector("dl"));
    expect(facts["Client address"]).toBe("203.0.113.5");
    expect(facts.Authentication).toContain("SPF: pass (example.org, client 203.0.113.5)");
    expect(facts.Authentication).toContain("DKIM: none (not signed)");
    expect(facts.Encryption).toBe("not encrypted");
    expect(facts.Signature).toBe("not signed");
    expect(facts["Offered key"]).toContain(fingerprint.replace(/(.{4})(?=.)/g, "$1 "));
    expect(facts["Offered key"]).toContain("Autocrypt header");
    // A viewer may read, not change the report.
    expect(section?.querySelector("button")).toBeNull();
  });

  it("keeps the offered key as the reporter's key when a triager says so, audited, so replies are encrypted", async () => {
    const b = await signedIn(triager);
    const before = await b.get(`/desk/reports/${reportId}`);
    const button = [...parseHtml(before.body).querySelectorAll("#received-mail button")].find((el) => textOf(el) === "Keep this key for encrypted replies");
    expect(button).toBeDefined();
    const form = button!.closest("form")!;
    const inboundMessageId = (form.querySelector('input[name="inboundMessageId"]') as HTMLInputElement).value;

    // A message id of another report (or none) keeps nothing.
    const wrong = await b.post(`/desk/reports/${reportId}/offered-key`, { inboundMessageId: "999999" });
    expect(wrong.statusCode).toBe(400);
    expect(textOf(parseHtml(wrong.body).querySelector(".error-summary"))).toBe("That message offered no key that can be kept.");

    const kept = await b.post(form.getAttribute("action")!, { inboundMessageId });
    expect(kept.statusCode).toBe(303);
    const report = await shield.database.db.selectFrom("reports").select("reporter_pgp_key").where("id", "=", reportId).executeTakeFirstOrThrow();
    expect(report.reporter_pgp_key).toBe(offeredKey);
    const audit = await shield.database.db.selectFrom("audit_events").select(["action", "actor", "data"]).where("subject_id", "=", String(reportId)).where("action", "=", "report.reporter_key_kept").execute();
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.data)).toMatchObject({ fingerprint, replaced: false });

    const after = await b.get(kept.headers.location as string);
    expect(factsOf(parseHtml(after.body).querySelector("#received-mail dl"))["Offered key"]).toContain("Kept: replies to the reporter are encrypted to this key.");
    expect(textOf(parseHtml(after.body).querySelector(".notice.success"))).toBe("The offered key is kept: mail to the reporter is now encrypted to it.");
  });
});
