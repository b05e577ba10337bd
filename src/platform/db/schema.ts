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
  team_keys: TeamKeysTable;
  policy_versions: PolicyVersionsTable;
  policy_variables: PolicyVariablesTable;
  hall_of_fame_entries: HallOfFameEntriesTable;
  attachments: AttachmentsTable;
  report_escalations: ReportEscalationsTable;
  report_confirmations: ReportConfirmationsTable;
  user_passwords: UserPasswordsTable;
  user_totp: UserTotpTable;
  recovery_codes: RecoveryCodesTable;
  passkeys: PasskeysTable;
  sessions: SessionsTable;
  invites: InvitesTable;
  sign_in_failures: SignInFailuresTable;
  sign_in_guessing_notices: SignInGuessingNoticesTable;
  sla_alerts: SlaAlertsTable;
  report_upstreams: ReportUpstreamsTable;
  report_deadline_basis: ReportDeadlineBasisTable;
  metrics_snapshots: MetricsSnapshotsTable;
  receipt_mails: ReceiptMailsTable;
  receipt_recipients: ReceiptRecipientsTable;
  held_receipts: HeldReceiptsTable;
  rate_limit_counts: RateLimitCountsTable;
  advisories: AdvisoriesTable;
  advisory_reports: AdvisoryReportsTable;
  advisory_revisions: AdvisoryRevisionsTable;
  inbound_messages: InboundMessagesTable;
  imap_cursors: ImapCursorsTable;
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
  expires_at: string | null;
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
  // Triage (007): vectors with the score and rating computed from them.
  cvss31_vector: string | null;
  cvss31_score: number | null;
  cvss31_rating: string | null;
  cvss40_vector: string | null;
  cvss40_score: number | null;
  cvss40_rating: string | null;
  /** explicit | cvss31 | cvss40: where `severity` came from; null for a severity set by a transition. */
  severity_source: string | null;
  cwe_id: string | null;
  cwe_name: string | null;
  affected_versions: string | null;
  /** null: not decided; 0/1 */
  bounty_eligible: number | null;
  bounty_reason: string | null;
  bounty_amount: number | null;
  bounty_currency: string | null;
  bounty_awarded_at: string | null;
  bounty_paid_at: string | null;
  /** The soonest service-level deadline still to meet; null when none runs (closed, paused, support). Indexed for the queue. */
  next_deadline_at: string | null;
  /** 015: what the report was promised when it arrived (JSON of sla's ServiceTerms); null for support, and before start-up fills in reports stored earlier. */
  service_terms: string | null;
  /** 008: 1 when description, steps and impact are OpenPGP messages encrypted in the reporter's browser (stored as received). */
  browser_encrypted: Generated<number>;
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
  /** When the job's turn comes in the fair order (claims go by this among due jobs); see enqueueJob. */
  fair_at: string;
  /** Whom the job is for (the submitting client), to space out one sender's jobs; null: no one in particular. */
  fairness_key: string | null;
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
  /** The id of the master key the chain's MACs are keyed with; null while it is still plain SHA-256 (before migration 020's re-chaining). */
  key_id: Generated<string | null>;
}

/** An uploaded file: the row names the report (and reply), the bytes live in the blob store under `blob_sha256`. */
export interface AttachmentsTable {
  id: Generated<number>;
  report_id: number;
  message_id: number | null;
  blob_sha256: string;
  /** As the reporter's browser sent it: hostile text, shown escaped, sanitised only in download headers. */
  filename: string;
  /** Detected from the content, never taken from the name or the browser. */
  content_type: string;
  size: number;
  created_at: string;
  /** 008: 1 when the file is a binary OpenPGP message encrypted in the reporter's browser. */
  browser_encrypted: Generated<number>;
}

/** When a reporter last escalated a report: at most once per 12 hours. */
export interface ReportEscalationsTable {
  report_id: number;
  last_escalated_at: string;
  count: number;
}

/** The one-time confirmation after the web form; the tracking token is sealed under the confirmation id, which is stored only hashed. */
export interface ReportConfirmationsTable {
  id_hash: string;
  report_id: number;
  sealed_token: string;
  expires_at: string;
}

/** The team's OpenPGP keys: one with slot 'current', the replaced ones retired (kept to decrypt old mail). */
export interface TeamKeysTable {
  id: Generated<number>;
  slot: string | null;
  fingerprint: string;
  algorithm: string;
  /** JSON array of the key's user IDs. */
  user_ids: string;
  key_created_at: string;
  expires_at: string | null;
  public_key: string;
  /** The armoured private key, AES-256-GCM under the master key (see platform/crypto/at-rest.ts). */
  sealed_private_key: string;
  master_key_id: string;
  source: string;
  stored_at: string;
  retired_at: string | null;
}

/** A team member's password: argon2id in PHC format. */
export interface UserPasswordsTable {
  user_id: number;
  hash: string;
  changed_at: string;
}

/** A member's TOTP authenticator; the pending secret is one being enrolled and not yet confirmed. */
export interface UserTotpTable {
  user_id: number;
  /** Sealed under the master key (platform/crypto/at-rest.ts); null until the first enrolment is confirmed. */
  sealed_secret: string | null;
  enrolled_at: string | null;
  /** The last accepted time step: a code is never accepted twice. */
  last_step: number | null;
  pending_sealed_secret: string | null;
  pending_since: string | null;
}

/** Single-use recovery codes, stored as SHA-256 (80 random bits each). */
export interface RecoveryCodesTable {
  id: Generated<number>;
  user_id: number;
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

/** WebAuthn credentials. `public_key` is base64url COSE, `transports` a JSON array. */
export interface PasskeysTable {
  id: Generated<number>;
  user_id: number;
  credential_id: string;
  public_key: string;
  counter: number;
  transports: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/** Server-side sessions; the cookie holds a random 256-bit id, the table only its SHA-256. */
export interface SessionsTable {
  id: Generated<number>;
  token_hash: string;
  user_id: number;
  /** `signed_in`, `second_factor` (password ok, code pending) or `enrolment` (invite accepted, TOTP pending). */
  kind: string;
  /** JSON: WebAuthn challenge, where to go after sign-in, the invite being accepted. */
  data: string;
  created_at: string;
  last_seen_at: string;
  /** Absolute end, whatever the activity. */
  expires_at: string;
}

/** One-time links to set a password and enrol TOTP (`invite`), also made by the first-admin setup (`setup`). */
export interface InvitesTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  purpose: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/** Failed sign-in attempts, by client address (`ip`) and by the e-mail typed (`account`), for the rate limits. */
export interface SignInFailuresTable {
  id: Generated<number>;
  scope: string;
  key: string;
  at: string;
}

export interface SignInGuessingNoticesTable {
  user_id: number;
  notified_at: string;
}

export interface PolicyVersionsTable {
  id: Generated<number>;
  source: string;
  title: string;
  description: string | null;
  sha256: string;
  imported_at: string;
  imported_by: string;
}

export interface PolicyVariablesTable {
  name: string;
  value: string;
  updated_at: string;
}

export interface HallOfFameEntriesTable {
  id: Generated<number>;
  name: string;
  url: string | null;
  affiliation: string | null;
  /** 021: the year the entry is thanked for, when its list said so; null: the year it was added. */
  year: number | null;
  content_key: string;
  position: number;
  source: string;
  added_at: string;
}

/**
 * One row per warning or miss sent for a report's target. The unique key
 * (report_id, target, kind) is what makes each alert go out once across processes.
 */
export interface SlaAlertsTable {
  id: Generated<number>;
  report_id: number;
  /** firstResponse | triage | resolution */
  target: string;
  /** warning | missed */
  kind: string;
  due_at: string;
  created_at: string;
}

/** Upstream coordination of a report (Rails, Ruby, a library): who was told, where it is tracked, the embargo. */
export interface ReportUpstreamsTable {
  id: Generated<number>;
  report_id: number;
  project: string;
  contact: string | null;
  /** A URL or an identifier in the upstream's tracker. */
  reference: string | null;
  /** not_notified | notified | acknowledged | fixed | published | declined */
  status: string;
  /** YYYY-MM-DD */
  embargo_until: string | null;
  created_at: string;
  updated_at: string;
}

/** The service-level settings the stored `reports.next_deadline_at` were computed with (one row, id 1). */
export interface ReportDeadlineBasisTable {
  id: number;
  targets: string;
  updated_at: string;
}

export interface MetricsSnapshotsTable {
  name: string;
  basis: string;
  computed_at: string;
  body: string;
  refreshing_until: string | null;
}

/** One receipt or digest mailed to a recipient (the key is the normalised address's hash). */
export interface ReceiptMailsTable {
  id: Generated<number>;
  recipient_key: string;
  sent_at: string;
  job_id: number | null;
}

/** Locked while a recipient's receipt is counted; names the digest collecting held-back receipts. */
export interface ReceiptRecipientsTable {
  recipient_key: string;
  digest_job_id: number | null;
}

/** One receipt held back for a recipient's digest: the report and its tracking token, sealed. */
export interface HeldReceiptsTable {
  id: Generated<number>;
  digest_job_id: number;
  report_id: number;
  sealed_tracking_token: string;
}

/** Hits of one client in one fixed window of a shared rate limit. */
export interface RateLimitCountsTable {
  key: string;
  window_start: string;
  hits: number;
  expires_at: string;
}

/** 016: an advisory; `content` is the JSON the team writes (modules/advisories/advisory.ts `AdvisoryContent`). */
export interface AdvisoriesTable {
  id: Generated<number>;
  /** EXA-2026-001 */
  public_id: string;
  /** draft | scheduled | published */
  state: string;
  content: string;
  scheduled_at: string | null;
  published_at: string | null;
  /** An admin's reason for scheduling over the disclosure guard; the scheduled job honours it. */
  guard_override: string | null;
  created_at: string;
  updated_at: string;
}

export interface AdvisoryReportsTable {
  advisory_id: number;
  report_id: number;
}

/** A published revision: the content as the public read it from `published_at`. */
export interface AdvisoryRevisionsTable {
  advisory_id: number;
  number: number;
  summary: string;
  content: string;
  published_at: string;
}

/** 019: one received e-mail as it arrived, and what it became (see modules/inbound-mail). */
export interface InboundMessagesTable {
  id: Generated<number>;
  dedup_key: string;
  /** smtp | imap */
  via: string;
  message_id_header: string | null;
  raw_sha256: string;
  raw_size: number;
  envelope_from: string | null;
  /** JSON array of the envelope recipients. */
  envelope_to: string;
  remote_address: string | null;
  from_address: string | null;
  subject: string | null;
  received_at: string;
  /** report | reply | bounce */
  outcome: string;
  report_id: number | null;
  thread_message_id: number | null;
  /** JSON array of sentences for the team (parse failures, no receipt and why, keys offered). */
  notes: string;
  /** JSON: authentication results, OpenPGP findings, which parts arrived encrypted. */
  details: string;
}

/** The IMAP poller's place in a mailbox (`user@host:port/folder`): the highest UID finished under one UIDVALIDITY. */
export interface ImapCursorsTable {
  mailbox: string;
  uid_validity: string;
  /** A bigint on PostgreSQL (read back as a string there). */
  last_uid: number | string;
  updated_at: string;
}
