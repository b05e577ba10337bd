import { createHash } from "node:crypto";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import { signDetached } from "../../platform/crypto/openpgp.js";
import {
  composeChangesCsv,
  composeIndexTxt,
  composeProviderMetadata,
  CSAF_ROOT,
  CSAF_WHITE,
  csafDocumentText,
  csafPathOf,
  findPublishedAdvisory,
  listAdvisories,
} from "../../modules/advisories/index.js";
import type { TeamKeyring } from "../../modules/keys/index.js";
import type { SettingsReader } from "../../modules/settings/index.js";
import type { Clock } from "../../shared/clock.js";
import { exportContextOf } from "./advisory-view.js";

export interface CsafProviderDeps {
  db: Db;
  clock: Clock;
  settings: SettingsReader;
  baseUrl: () => string;
  keyring: TeamKeyring;
}

const DOCUMENT = /^([a-z][a-z0-9]{0,15}-\d{4}-\d{3,6})\.json(\.sha256|\.asc)?$/;

/**
 * The CSAF provider directory (CSAF 2.0 §7.1) over the published advisories: metadata, each
 * document with its SHA-256 and an OpenPGP signature by the team key, changes.csv and
 * index.txt. Drafts and scheduled advisories are not in it.
 */
export function registerCsafProviderRoutes(app: HttpApp, deps: CsafProviderDeps): void {
  const published = () => listAdvisories(deps.db, { state: "published", limit: 100_000 });
  const text = (reply: any, type: string, body: string) => reply.type(type).header("cache-control", "public, max-age=60").send(body);

  app.get(`${CSAF_ROOT}/provider-metadata.json`, { schema: { hide: true } }, async (_request, reply) => {
    const advisories = await published();
    const lastUpdated = advisories.map((a) => a.revisions.at(-1)!.publishedAt).sort().at(-1) ?? (await deps.keyring.current()).createdAt;
    const metadata = composeProviderMetadata(exportContextOf(await deps.settings.get(), deps.baseUrl()), await deps.keyring.current(), lastUpdated);
    return text(reply, "application/json; charset=utf-8", `${JSON.stringify(metadata, null, 2)}\n`);
  });

  app.get(`${CSAF_WHITE}/changes.csv`, { schema: { hide: true } }, async (_request, reply) => text(reply, "text/csv; charset=utf-8", composeChangesCsv(await published())));
  app.get(`${CSAF_WHITE}/index.txt`, { schema: { hide: true } }, async (_request, reply) => text(reply, "text/plain; charset=utf-8", composeIndexTxt(await published())));

  app.get(`${CSAF_WHITE}/:year/:file`, { schema: { hide: true } }, async (request, reply) => {
    const { year, file } = request.params as { year: string; file: string };
    const match = DOCUMENT.exec(file);
    const advisory = match ? await findPublishedAdvisory(deps.db, match[1]!.toUpperCase()) : undefined;
    if (!match || !advisory || csafPathOf(advisory) !== `${year}/${match[1]}.json`) {
      return reply.code(404).send({ error: { code: "csaf_document_not_found", message: "There is no such CSAF document." } });
    }
    const document = csafDocumentText(advisory, exportContextOf(await deps.settings.get(), deps.baseUrl()));
    if (match[2] === ".sha256") return text(reply, "text/plain; charset=utf-8", `${createHash("sha256").update(document).digest("hex")}  ${match[1]}.json\n`);
    if (match[2] === ".asc") {
      const signature = await signDetached(Buffer.from(document, "utf8"), await deps.keyring.signingKey(), deps.clock.now());
      return text(reply, "application/pgp-signature", signature);
    }
    return text(reply, "application/json; charset=utf-8", document);
  });
}
