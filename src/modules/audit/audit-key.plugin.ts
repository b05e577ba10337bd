import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from "kysely";
import { deriveKey } from "../../platform/crypto/secrets.js";
import type { Db, Executor } from "../../platform/db/database.js";
import type { AuditKey } from "./audit.js";

/**
 * Carries the audit chain's key on a database handle, so that every transaction opened
 * from it can append keyed events without each of the many callers of
 * `appendAuditEvent` passing the key along (decision 0017). It changes no query.
 */
class AuditKeyPlugin implements KyselyPlugin {
  constructor(readonly key: AuditKey) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** The label of the HKDF derivation: a new label is a new key. */
const AUDIT_KEY_LABEL = "shield audit chain v1";

/** The audit chain's key, derived from the master key. */
export function deriveAuditKey(masterKey: { id: string; bytes: Uint8Array }): AuditKey {
  return { id: masterKey.id, bytes: deriveKey(masterKey.bytes, AUDIT_KEY_LABEL) };
}

/** `db` with the audit key attached; transactions opened from it carry it too. */
export function withAuditKey(db: Db, key: AuditKey): Db {
  return db.withPlugin(new AuditKeyPlugin(key));
}

/** @throws Error when the handle was opened without the key: an event appended unkeyed would break the chain. */
export function auditKeyOf(db: Executor): AuditKey {
  const plugin = db.getExecutor().plugins.find((p): p is AuditKeyPlugin => p instanceof AuditKeyPlugin);
  if (!plugin) throw new Error("this database handle carries no audit key (open it with keyAuditLog, which needs the master key)");
  return plugin.key;
}
