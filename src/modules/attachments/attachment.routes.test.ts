import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PDF, PNG } from "../../../test/attachment-fixtures.js";
import { forEachDatabase } from "../../../test/databases.js";
import { createTestShield, type TestShield } from "../../../test/shield.js";
import { openForm, postForm, reportFormParts, type FormPart } from "../../../test/web-forms.js";

forEachDatabase((kind) => {
  describe("team download of attachments", () => {
    let shield: TestShield;
    let viewer: { authorization: string };
    let reportId: number;
    let otherReportId: number;

    async function submitWith(title: string, files: FormPart[]): Promise<number> {
      const response = await postForm(shield, "/security/report", await openForm(shield, "/security/report"), [...reportFormParts({ title }), ...files]);
      expect(response.statusCode).toBe(303);
      return (await shield.database.db.selectFrom("reports").select("id").where("title", "=", title).executeTakeFirstOrThrow()).id;
    }
    const attachmentsOf = (id: number) => shield.database.db.selectFrom("attachments").selectAll().where("report_id", "=", id).orderBy("id").execute();

    beforeAll(async () => {
      shield = await createTestShield(kind);
      viewer = (await shield.addMember("viewer")).auth;
      reportId = await submitWith("with files", [
        { name: "attachments", value: PNG, filename: "<img src=x onerror=alert(1)>.html" },
        { name: "attachments", value: PDF, filename: "r\u00e9sum\u00e9 \u202egnp.exe" },
      ]);
      otherReportId = await submitWith("other", [{ name: "attachments", value: Buffer.from("other\n"), filename: "other.txt" }]);
    });
    afterAll(async () => shield.destroy());

    it("lists a report's attachments for the team with their detected types", async () => {
      const response = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${reportId}/attachments`, headers: viewer });
      expect(response.statusCode).toBe(200);
      expect(response.json().attachments.map((a: { filename: string; contentType: string; messageId: null }) => [a.filename, a.contentType, a.messageId])).toEqual([
        ["<img src=x onerror=alert(1)>.html", "image/png", null],
        ["r\u00e9sum\u00e9 \u202egnp.exe", "application/pdf", null],
      ]);
    });

    it("serves the bytes as a download, never as something a browser would render, and audits it", async () => {
      const [png, pdf] = await attachmentsOf(reportId);
      const response = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${reportId}/attachments/${png!.id}`, headers: viewer });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toBe("application/octet-stream");
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
      expect(response.headers["cache-control"]).toBe("no-store");
      expect(response.headers["content-disposition"]).toBe(
        `attachment; filename="<img src=x onerror=alert(1)>.html"; filename*=UTF-8''%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.html`,
      );
      expect(response.rawPayload.equals(PNG)).toBe(true);

      const second = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${reportId}/attachments/${pdf!.id}`, headers: viewer });
      // The right-to-left override is dropped, non-ASCII survives only in filename*.
      expect(second.headers["content-disposition"]).toBe(`attachment; filename="r_sum_ gnp.exe"; filename*=UTF-8''r%C3%A9sum%C3%A9%20gnp.exe`);

      const audit = await shield.database.db.selectFrom("audit_events").selectAll().where("action", "=", "attachment.downloaded").where("subject_id", "=", String(reportId)).execute();
      expect(audit).toHaveLength(2);
      expect(audit[0]!.actor).toMatch(/^user:\d+:viewer/);
      expect(JSON.parse(audit[0]!.data)).toMatchObject({ attachmentId: png!.id });
    });

    it("documents both routes in the OpenAPI document", async () => {
      const paths = Object.keys((await shield.app.inject({ method: "GET", url: "/api/v1/openapi.json" })).json().paths);
      expect(paths).toEqual(expect.arrayContaining(["/api/v1/reports/{id}/attachments", "/api/v1/reports/{id}/attachments/{attachmentId}"]));
    });

    it("requires a team token", async () => {
      const [png] = await attachmentsOf(reportId);
      const anonymous = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${reportId}/attachments/${png!.id}` });
      expect(anonymous.statusCode).toBe(401);
      const list = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${reportId}/attachments` });
      expect(list.statusCode).toBe(401);
    });

    it("answers 404 for an attachment of another report or an unknown one", async () => {
      const [other] = await attachmentsOf(otherReportId);
      const crossed = await shield.app.inject({ method: "GET", url: `/api/v1/reports/${reportId}/attachments/${other!.id}`, headers: viewer });
      expect(crossed.statusCode).toBe(404);
      expect(crossed.json().error.code).toBe("attachment_not_found");
      const unknownReport = await shield.app.inject({ method: "GET", url: `/api/v1/reports/999999/attachments/${other!.id}`, headers: viewer });
      expect(unknownReport.statusCode).toBe(404);
    });
  });
});
