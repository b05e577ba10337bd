import type { Generated } from "kysely";

/**
 * The tables as Kysely sees them. Timestamps are ISO-8601 UTC strings and booleans
 * are 0/1 integers on both databases, so that every query reads the same on SQLite
 * and PostgreSQL (see docs/decisions/0002-portable-column-types.md).
 */
export interface Tables {
  settings: SettingsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  reports: ReportsTable;
  messages: MessagesTable;
  jobs: JobsTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface UsersTable {
  id: Generated<number>;
  email: string;
  name: string;
  role: string;
  created_at: string;
  disabled_at: string | null;
}

export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  token_hash: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface ReportsTable {
  id: Generated<number>;
  channel: string;
  state: string;
  source: string;
  title: string;
  description: string;
  steps: string | null;
  impact: string | null;
  asset: string | null;
  reporter_name: string;
  reporter_email: string;
  reporter_pgp_key: string | null;
  credit_name: string | null;
  credit_url: string | null;
  ai_used: number | null;
  severity: string | null;
  owner_id: number | null;
  duplicate_of: number | null;
  tracking_hash: string;
  received_at: string;
  acknowledged_at: string | null;
  triaged_at: string | null;
  resolved_at: string | null;
  closed_at: string | null;
  disclosed_at: string | null;
  needs_info_since: string | null;
  state_before_needs_info: string | null;
  paused_ms: number;
  updated_at: string;
}

export interface MessagesTable {
  id: Generated<number>;
  report_id: number;
  author_kind: string;
  author_user_id: number | null;
  body: string;
  internal: number;
  created_at: string;
}

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: string;
  state: string;
  attempts: number;
  max_attempts: number;
  run_at: string;
  locked_by: string | null;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface AuditEventsTable {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  data: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}
