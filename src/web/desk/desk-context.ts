import { z } from "zod";
import type { BlobStore } from "../../platform/blobs/blob-store.js";
import type { Db } from "../../platform/db/database.js";
import type { MarkdownRenderCache } from "../../platform/markdown/markdown.js";
import type { Clock } from "../../shared/clock.js";
import type { Events } from "../../shared/events.js";
import type { AuthContext } from "../../modules/auth/index.js";
import type { TeamKeyring } from "../../modules/keys/index.js";
import { listUsers, type TeamMember } from "../../modules/people/index.js";
import type { SettingsReader } from "../../modules/settings/index.js";

export interface DeskRouteDeps {
  db: Db;
  clock: Clock;
  events: Events;
  settings: SettingsReader;
  auth: AuthContext;
  blobs: BlobStore;
  /** Decrypts what reporters encrypted in their browser (the description, steps, impact and files). */
  keyring?: TeamKeyring;
  /** The public address of the site: advisories link their public page. */
  baseUrl: () => string;
  /** Wakes the outbox worker after a change that mails the reporter. */
  onChanged: () => void;
}

/** What the desk's page and action files share: their dependencies and one Markdown cache. */
export interface DeskContext extends DeskRouteDeps {
  rendered: MarkdownRenderCache;
}

export const idParams = z.object({ id: z.coerce.number().int().positive() });

/** Every member by id (names of authors and owners), and those who may own a report. */
export async function listDeskMembers(db: Db): Promise<{ all: Map<number, TeamMember>; owners: TeamMember[] }> {
  const members = await listUsers(db);
  return { all: new Map(members.map((m) => [m.id, m])), owners: members.filter((m) => m.disabledAt === null && m.role !== "viewer") };
}
