import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stageTextAsSent } from "../src/modules/attachments/index.js";
import { submitReportFromWeb } from "../src/modules/reporter-side/index.js";
import { BlobStore } from "../src/platform/blobs/blob-store.js";
import { DurableDirectories } from "../src/platform/blobs/durable-directories.js";
import { createBackup, MANIFEST_FILE, type BackupManifest } from "../src/platform/db/backup.js";
import { createFileMailer } from "../src/platform/mail/mailer.js";
import { systemClock } from "../src/shared/clock.js";
import { CrashFileSystem, cutAtEveryStep } from "./crash-file-system.js";
import { forEachDatabase } from "./databases.js";
import { buildReportInput } from "./factories.js";
import { createTestShield, type TestShield } from "./shield.js";

/**
 * A power cut after every step of the file work behind a promise, on the crash model of a
 * disk (test/crash-file-system.ts): after each cut, a committed row never names a missing
 * file, a file is whole or absent, and what was acknowledged is there.
 */
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

forEachDatabase((kind) => {
  describe("power cuts", () => {
    let shield: TestShield;
    const dataDir = "/srv/shield/data";
    const fresh = () => {
      const files = new CrashFileSystem();
      // A data directory an earlier run left on disk; everything below it is new.
      files.seedDir(dataDir);
      return files;
    };
    beforeAll(async () => {
      shield = await createTestShield(kind);
    });
    afterAll(async () => shield.destroy());

    it("at every step of a report's attachment commit leave no row naming a missing or partial file, and every acknowledged report", async () => {
      const steps = await cutAtEveryStep(
        fresh,
        async (files, run) => {
          const blobs = new BlobStore(path.join(dataDir, "blobs"), new DurableDirectories(files));
          const input = buildReportInput({ title: `Power cut after step ${run} ${randomBytes(4).toString("hex")}` });
          const upload = await stageTextAsSent(blobs, "description", randomBytes(300));
          const { report } = await submitReportFromWeb({ ...shield.deps, clock: systemClock }, blobs, input, [upload]);
          return { reportId: report.id, title: input.title };
        },
        async (files, outcome) => {
          const blobs = new BlobStore(path.join(dataDir, "blobs"), new DurableDirectories(files));
          // Every attachment row of a report this run may have committed names a whole file.
          const rows = await shield.database.db
            .selectFrom("attachments")
            .innerJoin("reports", "reports.id", "attachments.report_id")
            .select(["attachments.blob_sha256 as sha", "attachments.size as size", "reports.id as reportId"])
            .where("reports.id", ">", lastReportId)
            .execute();
          for (const row of rows) {
            const stat = await files.stat(blobs.pathOf(row.sha));
            expect(stat, `report ${row.reportId}'s file`).toBeDefined();
            expect(sha256(await files.readFile(blobs.pathOf(row.sha)))).toBe(row.sha);
          }
          if (outcome.completed) {
            expect(rows.map((row) => row.reportId)).toEqual([outcome.value.reportId]);
          }
          lastReportId = Math.max(lastReportId, ...rows.map((row) => row.reportId));
        },
      );
      expect(steps).toBeGreaterThan(8);
    });
    let lastReportId = 0;

    it("at every step of a receipt's .eml write leave the message whole or absent, and whole once the send returned", async () => {
      const outbox = path.join(dataDir, "outbox");
      const target = path.join(outbox, "receipt-7-job-9.eml");
      const text = "Thank you for your report.\nFollow it with your link.\n\n-- \nThe security team\n";
      const steps = await cutAtEveryStep(
        fresh,
        async (files) => {
          const mailer = createFileMailer(outbox, {}, new DurableDirectories(files));
          await mailer.send({ from: "security@example.test", to: "reporter@example.test", subject: "[#7] We received your report", text }, "receipt-7-job-9");
          mailer.close();
        },
        async (files, outcome) => {
          const stat = await files.stat(target);
          if (outcome.completed) expect(stat).toBeDefined();
          if (stat) expect((await files.readFile(target)).toString("utf8")).toContain("Follow it with your link.\n\n-- \nThe security team");
        },
      );
      expect(steps).toBeGreaterThan(5);
    });

    it("at every step of a backup leave no manifest naming a missing or changed file, and a manifest once the backup returned", async () => {
      // The data directory's own files, on disk before the backup starts.
      const seeded = (files: CrashFileSystem) => {
        files.seedFile(path.join(dataDir, "blobs", "ab", "ab01"), Buffer.from("attachment bytes"));
        return files;
      };
      const out = path.join(dataDir, "backups", "nightly");
      const steps = await cutAtEveryStep(
        () => seeded(fresh()),
        (files) => createBackup({ ...shield.config, dataDir }, out, () => {}, { directories: new DurableDirectories(files) }),
        async (files, outcome) => {
          const manifestFile = path.join(out, MANIFEST_FILE);
          const stat = await files.stat(manifestFile);
          if (outcome.completed) expect(stat).toBeDefined();
          if (!stat) return;
          const manifest = JSON.parse((await files.readFile(manifestFile)).toString("utf8")) as BackupManifest;
          expect(manifest.files.map((file) => file.path)).toEqual(expect.arrayContaining([kind === "sqlite" ? "shield.db" : "shield.pgdump", path.join("data", "blobs", "ab", "ab01")]));
          for (const file of manifest.files) {
            const bytes = await files.readFile(path.join(out, file.path));
            expect({ path: file.path, sha256: sha256(bytes), bytes: bytes.length }).toEqual({ path: file.path, sha256: file.sha256, bytes: file.bytes });
          }
        },
      );
      expect(steps).toBeGreaterThan(8);
    }, 180_000);
  });
});
