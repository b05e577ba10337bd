import type { Command } from "commander";
import { findTeamKey, importTeamKey, type TeamKey } from "../../modules/keys/index.js";
import { loadMasterKey } from "../../platform/crypto/master-key.js";
import { systemClock } from "../../shared/clock.js";
import { CliError, type CliContext } from "../cli-context.js";
import { readImportFile } from "./import-file.js";

const describeTeamKeyForPeople = (key: TeamKey) =>
  [
    `Fingerprint: ${key.fingerprint}`,
    `Created:     ${key.createdAt}`,
    `Algorithm:   ${key.algorithm}`,
    `User IDs:    ${key.userIds.join("; ")}`,
    `Expires:     ${key.expiresAt ?? "never"}`,
    `Source:      ${key.source} (stored ${key.storedAt})`,
  ].join("\n");
const publicTeamKey = ({ publicKey: _publicKey, ...rest }: TeamKey) => rest;

export function register(teamKey: Command, cli: CliContext): void {
  teamKey
    .command("show")
    .description("Print the team key's fingerprint, creation time and algorithm.")
    .option("--json", "machine-readable output")
    .action(async (options: { json?: boolean }) => {
      const key = await cli.withDatabase(({ db }) => findTeamKey(db));
      if (!key) throw new CliError("no_team_key", "there is no team key yet; `shield serve` makes one on first start, or import one with `shield key import FILE`.");
      cli.print(!!options.json, publicTeamKey(key), () => describeTeamKeyForPeople(key));
    });
  teamKey
    .command("import")
    .description("Make an existing OpenPGP private key (ASCII-armoured) the team key. The key it replaces is kept to decrypt older mail.")
    .argument("<file>", "the armoured private key, e.g. from `gpg --armor --export-secret-keys KEYID`")
    .option("--passphrase-file <file>", "file whose first line is the key's passphrase, if it has one")
    .option("--json", "machine-readable output")
    .action(async (file: string, options: { passphraseFile?: string; json?: boolean }) => {
      const readSmall = (name: string) => readImportFile(name, 1_048_576, "that is not a key");
      const armored = readSmall(file);
      const passphrase = options.passphraseFile === undefined ? undefined : (readSmall(options.passphraseFile).split(/\r?\n/)[0] ?? "");
      const result = await cli.withDatabase(async ({ db }, config) => {
        const masterKey = await loadMasterKey({ dataDir: config.dataDir, fromEnvironment: config.SHIELD_MASTER_KEY });
        return importTeamKey({ db, masterKey, clock: systemClock }, cli.actor, armored, passphrase);
      });
      cli.print(!!options.json, { key: publicTeamKey(result.key), replaced: result.replaced && publicTeamKey(result.replaced), unchanged: result.unchanged }, () =>
        [
          result.unchanged ? "This key is the team key already; nothing changed." : "Imported the team key.",
          describeTeamKeyForPeople(result.key),
          ...(result.replaced ? [`It replaces ${result.replaced.fingerprint}, which is kept to decrypt older messages.`] : []),
          ...(result.unchanged ? [] : ["Running Shield processes pick it up within a minute."]),
        ].join("\n"),
      );
    });
}
