import fs from "node:fs";
import { CliError } from "../cli-context.js";

/**
 * Reads a text file a command imports, refusing one too large to be what it claims before
 * reading it.
 * @throws CliError `file_unreadable`, `file_too_large`
 */
export function readImportFile(file: string, maxBytes: number, tooLarge = `at most ${maxBytes} are accepted`): string {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (error) {
    throw new CliError("file_unreadable", `cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  if (size > maxBytes) throw new CliError("file_too_large", `${file} is ${size} bytes; ${tooLarge}`);
  return fs.readFileSync(file, "utf8");
}
