import fs from "node:fs";
import path from "node:path";
import type { TestShield } from "./shield.js";

/** The file mailer's .eml files whose name starts with `prefix`, as text with soft line breaks undone. */
export function mailsStartingWith(shield: Pick<TestShield, "dataDir">, prefix: string): string[] {
  const dir = path.join(shield.dataDir, "outbox");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix))
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8").replace(/=\r?\n/g, ""));
}

/** The address a message went to. */
export function recipientOf(eml: string): string {
  return /^To: (.+)$/m.exec(eml)![1]!.trim();
}
