import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface GpgResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * GnuPG in a throwaway home directory: the independent OpenPGP implementation tests
 * check Shield against. Call `destroy()` to stop its agent and remove the directory.
 */
export class GnuPG {
  private constructor(readonly home: string) {}

  static create(): GnuPG {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "shield-gnupg-"));
    fs.chmodSync(home, 0o700);
    // The agent would calibrate passphrase hashing to the maximum count on a slow machine,
    // making every protected key take seconds to open; tests need no such strength.
    fs.writeFileSync(path.join(home, "gpg-agent.conf"), "s2k-count 65536\n");
    return new GnuPG(home);
  }

  run(args: string[], input?: string | Uint8Array): GpgResult {
    const result = this.runBinary(args, input);
    return { ...result, stdout: result.stdout.toString("utf8") };
  }

  /** Like run, with stdout as bytes (decrypted files, binary messages). */
  runBinary(args: string[], input?: string | Uint8Array): { code: number | null; stdout: Buffer; stderr: string } {
    const result = spawnSync("gpg", ["--batch", "--no-tty", "--pinentry-mode", "loopback", ...args], {
      env: { PATH: process.env.PATH, GNUPGHOME: this.home, LC_ALL: "C" },
      input,
      timeout: 30_000,
    });
    if (result.error) throw result.error;
    return { code: result.status, stdout: result.stdout, stderr: result.stderr.toString("utf8") };
  }

  mustRun(args: string[], input?: string | Uint8Array): string {
    const result = this.run(args, input);
    if (result.code !== 0) throw new Error(`gpg ${args.join(" ")} failed (${result.code}):\n${result.stderr}`);
    return result.stdout;
  }

  /**
   * A new key; returns its fingerprint. `algo`/`usage`/`expire` as for --quick-gen-key:
   * "future-default default never" is Ed25519 with a Cv25519 encryption subkey.
   */
  generateKey(userId: string, options: { algo?: string; usage?: string; expire?: string; passphrase?: string; fakedTime?: string } = {}): string {
    this.mustRun([
      ...(options.fakedTime ? ["--faked-system-time", options.fakedTime] : []),
      "--passphrase",
      options.passphrase ?? "",
      "--quick-gen-key",
      userId,
      options.algo ?? "future-default",
      options.usage ?? "default",
      options.expire ?? "never",
    ]);
    return this.fingerprintOf(userId);
  }

  fingerprintOf(userId: string): string {
    const listing = this.mustRun(["--with-colons", "--list-keys", userId]);
    const line = listing.split("\n").find((l) => l.startsWith("fpr:"));
    if (!line) throw new Error(`no key for ${userId}`);
    return line.split(":")[9]!;
  }

  exportPublic(fingerprint: string): string {
    return this.mustRun(["--armor", "--export", fingerprint]);
  }

  exportSecret(fingerprint: string, passphrase = ""): string {
    return this.mustRun(["--passphrase", passphrase, "--armor", "--export-secret-keys", fingerprint]);
  }

  import(armored: string): void {
    this.mustRun(["--import"], armored);
  }

  destroy(): void {
    spawnSync("gpgconf", ["--kill", "gpg-agent"], { env: { PATH: process.env.PATH, GNUPGHOME: this.home } });
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}
