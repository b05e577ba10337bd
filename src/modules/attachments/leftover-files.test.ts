import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachDatabase } from "../../../test/databases.js";
import { buildReportInput } from "../../../test/factories.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { BlobStore } from "../../platform/blobs/blob-store.js";
import { removeStaleTemporaryFiles, writeFileDurably } from "../../platform/blobs/durable-file.js";
import { systemClock } from "../../shared/clock.js";
import { submitReportFromWeb } from "../reporter-side/index.js";
import { removeLeftoverBlobs, stageTextAsSent, STALE_FILE_AGE_MS } from "./index.js";

const age = (file: string) => {
  const past = new Date(Date.now() - STALE_FILE_AGE_MS - 60_000);
  fs.utimesSync(file, past, past);
};

forEachDatabase((kind) => {
  describe("start-up clean-up of what crashes left", () => {
    let shield: TestShield;
    beforeAll(async () => {
      shield = await createTestShield(kind);
    });
    afterAll(async () => shield.destroy());

    it("removes old staging files and old unreferenced blobs, and never a referenced or a recent file", async () => {
      const blobs = new BlobStore(path.join(shield.dataDir, "blobs"));
      const stage = (text: string) => blobs.stage(Readable.from([Buffer.from(text)]));
      const upload = await stageTextAsSent(blobs, "description", Buffer.from("referenced evidence"));
      await submitReportFromWeb({ ...shield.deps, clock: systemClock }, blobs, buildReportInput(), [upload]);
      const referenced = blobs.pathOf(upload.blob.sha256);
      age(referenced);
      const orphan = await stage("a blob whose report never committed");
      await blobs.commit(orphan);
      age(blobs.pathOf(orphan.sha256));
      const recentOrphan = await stage("a blob being committed by another process right now");
      await blobs.commit(recentOrphan);
      const staleStaging = await stage("an upload cut short");
      age(staleStaging.tempPath);
      const freshStaging = await stage("an upload in progress");

      expect(await removeLeftoverBlobs(shield.database.db, blobs, systemClock.now())).toEqual({ staging: 1, unreferenced: 1 });
      expect(fs.existsSync(referenced)).toBe(true);
      expect(fs.existsSync(blobs.pathOf(recentOrphan.sha256))).toBe(true);
      expect(fs.existsSync(freshStaging.tempPath)).toBe(true);
      expect(fs.existsSync(blobs.pathOf(orphan.sha256))).toBe(false);
      expect(fs.existsSync(staleStaging.tempPath)).toBe(false);
    });

    it("makes an old unreferenced blob young again when the same bytes are committed, so it is not removed under the new row", async () => {
      const blobs = new BlobStore(path.join(shield.dataDir, "blobs"));
      const first = await blobs.stage(Readable.from([Buffer.from("same bytes twice")]));
      await blobs.commit(first);
      age(blobs.pathOf(first.sha256));
      await blobs.commit(await blobs.stage(Readable.from([Buffer.from("same bytes twice")])));
      await removeLeftoverBlobs(shield.database.db, blobs, systemClock.now());
      expect(fs.existsSync(blobs.pathOf(first.sha256))).toBe(true);
    });

    it("removes old temporary mail files a cut-short write left, and keeps messages and recent ones", async () => {
      const outbox = path.join(shield.dataDir, "outbox");
      await writeFileDurably(path.join(outbox, "receipt-1-job-1.eml"), "sent");
      const stale = path.join(outbox, ".receipt-2-job-2.eml.0123456789ab.tmp");
      const recent = path.join(outbox, ".receipt-3-job-3.eml.ba9876543210.tmp");
      fs.writeFileSync(stale, "half");
      fs.writeFileSync(recent, "half");
      age(stale);
      age(path.join(outbox, "receipt-1-job-1.eml"));
      expect(await removeStaleTemporaryFiles(outbox, new Date(Date.now() - STALE_FILE_AGE_MS))).toBe(1);
      expect(fs.readdirSync(outbox).sort()).toEqual([path.basename(recent), "receipt-1-job-1.eml"].sort());
    });
  });
});
