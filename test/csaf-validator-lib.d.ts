// @secvisogram/csaf-validator-lib ships JavaScript with JSDoc types that TypeScript does not read from a package; what the tests use of it.
declare module "@secvisogram/csaf-validator-lib/mandatoryTests.js" {
  type DocumentTest = (document: unknown) => unknown;
  const tests: Record<string, DocumentTest>;
  export = tests;
}
declare module "@secvisogram/csaf-validator-lib/validateStrict.js" {
  interface TestResult {
    name: string;
    isValid: boolean;
    errors: Array<{ instancePath: string; message: string }>;
  }
  export default function validateStrict(tests: unknown[], document: unknown): Promise<{ isValid: boolean; tests: TestResult[] }>;
}
