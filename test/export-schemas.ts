import fs from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import * as mandatoryTests from "@secvisogram/csaf-validator-lib/mandatoryTests.js";
import validateStrict from "@secvisogram/csaf-validator-lib/validateStrict.js";

/** The official schemas of the export formats, vendored under test/schemas (see its README). */
const SCHEMAS = path.resolve(import.meta.dirname, "schemas");
const readSchema = (file: string) => JSON.parse(fs.readFileSync(path.join(SCHEMAS, file), "utf8"));

const ajv2020 = new Ajv2020.default({ strict: false, allErrors: true });
addFormats.default(ajv2020);
// The CVSS schemas CSAF references are draft-04 and draft-07 documents: added under the URLs
// CSAF names them by, without their meta-schema line and draft-04 `id` (Ajv 2020 knows neither).
for (const version of ["2.0", "3.0", "3.1"]) {
  const { $schema: _meta, id: _draft4Id, ...schema } = readSchema(`csaf-2.0/referenced_schema/first/cvss-v${version}.json`);
  ajv2020.addSchema(schema, `https://www.first.org/cvss/cvss-v${version}.json`);
}
export const validateOsv = ajv2020.compile(readSchema("osv/schema.json"));
export const validateCsaf = ajv2020.compile(readSchema("csaf-2.0/csaf_json_schema.json"));
const ajv7 = new Ajv.default({ strict: false, allErrors: true });
addFormats.default(ajv7);
export const validateCve = ajv7.compile(readSchema("cve-5/CVE_Record_Format_bundled.json"));

/** A validator's errors, for an assertion's message. */
export const errorsOf = (validate: { errors?: unknown[] | null }) => JSON.stringify(validate.errors, null, 1);

/** The mandatory tests of csaf-validator-lib a CSAF document fails (none for a valid one), with the library's verdict. */
export async function failedCsafMandatoryTests(document: unknown): Promise<{ isValid: boolean; failed: Array<{ name: string; errors: unknown[] }> }> {
  const result = await validateStrict(Object.values(mandatoryTests), document);
  return { isValid: result.isValid, failed: result.tests.filter((t) => !t.isValid) };
}
