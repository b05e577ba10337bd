import type { Db, Tx } from "../../platform/db/database.js";
import { GENESIS_HASH } from "../../platform/db/migrations/001-foundation.js";
import { verifyChainSegment, type ChainProblem } from "./audit.js";
import { listAuditEvents, readAuditHead } from "./audit.repository.js";

export interface AuditVerification {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string };
  problems: ChainProblem[];
}

/**
 * Walks the whole log in pages and checks every link, then compares the end of the
 * chain with the head row, which catches events deleted from the end.
 *
 * It reads one snapshot (repeatable read on PostgreSQL, a read transaction on SQLite):
 * a server keeps appending while an operator verifies, and events committed after the
 * head was read would otherwise be named as inserted, or chased page after page forever.
 * On SQLite the snapshot holds the connection, so run it from its own process (the CLI).
 */
export async function verifyAuditLog(db: Db, onProgress?: (checked: number, total: number) => void): Promise<AuditVerification> {
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute((tx) => verifySnapshot(tx, onProgress));
}

async function verifySnapshot(db: Tx, onProgress?: (checked: number, total: number) => void): Promise<AuditVerification> {
  const head = await readAuditHead(db);
  let expected = { seq: 0, hash: GENESIS_HASH };
  let checked = 0;
  const problems: ChainProblem[] = [];
  for (;;) {
    const page = await listAuditEvents(db, expected.seq, 5000);
    if (page.length === 0) break;
    const result = verifyChainSegment(page, expected);
    problems.push(...result.problems);
    expected = result.next;
    checked += page.length;
    onProgress?.(checked, head.seq);
  }
  if (expected.seq < head.seq) {
    for (let missing = expected.seq + 1; missing <= head.seq; missing++) {
      problems.push({ seq: missing, problem: "missing", message: `event ${missing} is missing: it was deleted from the end of the log` });
    }
  } else if (expected.seq > head.seq || (expected.seq === head.seq && expected.hash !== head.hash)) {
    problems.push({ seq: expected.seq, problem: "inserted", message: `event ${expected.seq} is past the recorded end of the log: it was inserted` });
  }
  return { ok: problems.length === 0, checked, head, problems };
}
