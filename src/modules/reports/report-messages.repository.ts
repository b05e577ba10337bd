import type { Selectable } from "kysely";
import type { Executor } from "../../platform/db/database.js";
import type { MessagesTable } from "../../platform/db/schema.js";

export interface Message {
  id: number;
  reportId: number;
  authorKind: "reporter" | "team" | "system";
  authorUserId: number | null;
  body: string;
  internal: boolean;
  createdAt: string;
}

export async function insertMessage(db: Executor, message: Omit<Message, "id">): Promise<Message> {
  const row = await db
    .insertInto("messages")
    .values({
      report_id: message.reportId,
      author_kind: message.authorKind,
      author_user_id: message.authorUserId,
      body: message.body,
      internal: message.internal ? 1 : 0,
      created_at: message.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toMessage(row);
}

function toMessage(row: Selectable<MessagesTable>): Message {
  return {
    id: row.id,
    reportId: row.report_id,
    authorKind: row.author_kind as Message["authorKind"],
    authorUserId: row.author_user_id,
    body: row.body,
    internal: row.internal === 1,
    createdAt: row.created_at,
  };
}

export async function listMessages(db: Executor, reportId: number, options: { includeInternal: boolean }): Promise<Message[]> {
  const rows = await db
    .selectFrom("messages")
    .selectAll()
    .where("report_id", "=", reportId)
    .$if(!options.includeInternal, (qb) => qb.where("internal", "=", 0))
    .orderBy("id")
    .execute();
  return rows.map(toMessage);
}
