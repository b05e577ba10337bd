import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../config.js";
import { envelopeOf } from "./imap-poller.js";
import { parseImapUrl } from "./imap-url.js";

describe("SHIELD_IMAP_URL", () => {
  it("reads server, account, folder and what to do with stored mail", () => {
    expect(parseImapUrl("imaps://security%40example.com:p%40ss@imap.example.com/Security%20Reports?move=Done")).toEqual({
      host: "imap.example.com",
      port: 993,
      secure: true,
      user: "security@example.com",
      password: "p@ss",
      mailbox: "Security Reports",
      afterStored: { kind: "move", folder: "Done" },
    });
    expect(parseImapUrl("imap://u:p@127.0.0.1:1143")).toMatchObject({ port: 1143, secure: false, mailbox: "INBOX", afterStored: { kind: "seen" } });
    expect(parseImapUrl("imaps://u:p@h/INBOX?delete=true").afterStored).toEqual({ kind: "delete" });
  });

  it("refuses a wrong URL at start-up, naming the variable and never showing the password", () => {
    for (const [value, why] of [
      ["https://u:p@h/INBOX", /imaps:\/\//],
      ["imaps://imap.example.com/INBOX", /user name and password/],
      ["imaps://u:hunter2@h/INBOX?expunge=yes", /knows no option "expunge"/],
      ["imaps://u:hunter2@h/INBOX?move=INBOX", /another folder/],
      ["imaps://u:hunter2@h/INBOX?move=A&delete=true", /not both/],
    ] as const) {
      expect(() => loadConfig({ SHIELD_IMAP_URL: value })).toThrow(why);
      expect(() => loadConfig({ SHIELD_IMAP_URL: value })).toThrow(/SHIELD_IMAP_URL/);
      try {
        loadConfig({ SHIELD_IMAP_URL: value });
      } catch (error) {
        expect((error as Error).message).not.toContain("hunter2");
      }
    }
  });
});

describe("the envelope of a message taken from a mailbox", () => {
  it("reads the reverse path from Return-Path (<> is the null sender) and the recipients from the delivery headers", () => {
    const raw = (head: string) => Buffer.from(`${head}\r\nSubject: x\r\n\r\nbody\r\n`);
    expect(envelopeOf(raw("Return-Path: <ada@example.org>\r\nDelivered-To: security@example.com\r\nFrom: Ada <ada@example.org>\r\nTo: Security <Security@Example.com>, other@example.net\r\nCc: security+r1.abc@example.com"))).toMatchObject({
      mailFrom: "ada@example.org",
      rcptTo: ["security@example.com", "other@example.net", "security+r1.abc@example.com"],
    });
    expect(envelopeOf(raw("Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.org\r\nTo: security@example.com")).mailFrom).toBeNull();
    expect(envelopeOf(raw("From: Bob <bob@example.org>\r\nTo: security@example.com")).mailFrom).toBe("bob@example.org");
  });
});
