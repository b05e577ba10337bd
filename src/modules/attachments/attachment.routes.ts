import type { FastifyReply } from "fastify";
import { z } from "zod";
import type { BlobStore } from "../../platform/blobs/blob-store.js";
import type { Db } from "../../platform/db/database.js";
import type { HttpApp } from "../../platform/http/app.js";
import type { Clock } from "../../shared/clock.js";
import { decryptedFilename } from "../browser-encryption/index.js";
import { decryptBinaryForTeam, type TeamKeyring } from "../keys/index.js";
import { actorOf, memberOf, requireTeam } from "../people/index.js";
import { contentDispositionFor, type Attachment } from "./attachment.js";
import { listAttachmentsAsTeam, openAttachmentAsTeam } from "./attachment.service.js";

export interface AttachmentRouteDeps {
  db: Db;
  clock: Clock;
  blobs: BlobStore;
  /** Decrypts browser-encrypted attachments (`?decrypted=1`). */
  keyring?: TeamKeyring;
}

const reportParams = z.object({ id: z.coerce.number().int().positive() });
const attachmentParams = reportParams.extend({ attachmentId: z.coerce.number().int().positive() });
const downloadQuery = z.object({ decrypted: z.literal("1").optional().describe("`1`: the file decrypted with the team key (only for `browserEncrypted` attachments; audited with `decrypted: true`).") });

const attachmentView = z.object({
  id: z.number(),
  messageId: z.number().nullable().describe("The reporter's reply it came with; null: with the report itself."),
  filename: z.string().describe("As the reporter sent it: untrusted text."),
  contentType: z.string().describe("Detected from the content."),
  size: z.number(),
  sha256: z.string(),
  createdAt: z.string(),
  browserEncrypted: z.boolean().describe("The bytes are an OpenPGP message made in the reporter's browser; `?decrypted=1` on the download gives the file."),
});

function presentAttachment(a: Attachment): z.infer<typeof attachmentView> {
  return { id: a.id, messageId: a.messageId, filename: a.filename, contentType: a.contentType, size: a.size, sha256: a.sha256, createdAt: a.createdAt, browserEncrypted: a.browserEncrypted === true };
}

/** Attachments for the team only: never served to the public, never inline. */
export function registerAttachmentRoutes(app: HttpApp, deps: AttachmentRouteDeps): void {
  const { db, clock } = deps;
  const canRead = requireTeam(db, clock, "reports:read");
  const security = [{ bearer: [] }];

  app.get(
    "/api/v1/reports/:id/attachments",
    {
      preHandler: canRead,
      schema: { summary: "List a report's attachments (audited)", tags: ["reports"], security, params: reportParams, response: { 200: z.object({ attachments: z.array(attachmentView) }) } },
    },
    async (request) => {
      const attachments = await listAttachmentsAsTeam(db, clock, actorOf(memberOf(request)), request.params.id);
      return { attachments: attachments.map(presentAttachment) };
    },
  );

  app.get(
    "/api/v1/reports/:id/attachments/:attachmentId",
    {
      preHandler: canRead,
      schema: {
        summary: "Download an attachment (audited)",
        description: "Always `application/octet-stream` as a download (`Content-Disposition: attachment`), never rendered: the bytes are the reporter's.",
        tags: ["reports"],
        security,
        params: attachmentParams,
        querystring: downloadQuery,
      },
    },
    async (request, reply) => {
      const decrypted = request.query.decrypted === "1" && deps.keyring !== undefined;
      const opened = await openAttachmentAsTeam(db, clock, actorOf(memberOf(request)), deps.blobs, request.params.id, request.params.attachmentId, { decrypted });
      return sendOpenedAttachment(reply, opened, decrypted ? deps.keyring : undefined);
    },
  );
}

/**
 * Sends an attachment the team opened (openAttachmentAsTeam): as stored, or, given the team
 * keyring, decrypted (a file encrypted in the reporter's browser), under its name without
 * the `.pgp` the browser added. Attachments are bounded by SHIELD_ATTACHMENT_MAX_BYTES, so
 * one is decrypted whole.
 */
export async function sendOpenedAttachment(
  reply: FastifyReply,
  { attachment, stream, size }: { attachment: Attachment; stream: NodeJS.ReadableStream; size: number },
  decryptWith?: TeamKeyring,
): Promise<FastifyReply> {
  if (!decryptWith) return sendAttachmentDownload(reply, attachment.filename, stream, size);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const plain = Buffer.from(await decryptBinaryForTeam(decryptWith, new Uint8Array(Buffer.concat(chunks))));
  return sendAttachmentDownload(reply, decryptedFilename(attachment.filename), plain, plain.length);
}

/** An attachment is always a download of opaque bytes, never rendered: the reporter chose them. */
export function sendAttachmentDownload(reply: FastifyReply, filename: string, body: NodeJS.ReadableStream | Buffer, size: number): FastifyReply {
  return reply
    .header("content-type", "application/octet-stream")
    .header("content-disposition", contentDispositionFor(filename))
    .header("x-content-type-options", "nosniff")
    .header("content-length", String(size))
    .header("cache-control", "no-store")
    .send(body);
}
