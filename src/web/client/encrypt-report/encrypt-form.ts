import { createMessage, encrypt, readKey } from "openpgp/lightweight";

/**
 * The heavy half of the report form's optional encryption, loaded only when the reporter
 * ticks the box: openpgp.js (lightweight build; its curve code arrives on demand).
 */

/** Must match ENCRYPTED_REPORT_FIELDS on the server (modules/browser-encryption). */
const ENCRYPTED_FIELDS = new Set(["description", "steps", "impact"]);

/**
 * Text is encrypted as the bytes a plain form submission would have sent (UTF-8, line
 * breaks as CRLF, as the multipart encoding makes them), so the team reads exactly what
 * it would have read without encryption; as a binary literal, because decryptors (GnuPG)
 * rewrite the line breaks of a text literal.
 */
function formBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text.replace(/\r\n|\r|\n/g, "\r\n"));
}

/**
 * The form's entries with description, steps and impact replaced by armoured OpenPGP
 * messages and every file by a binary one (named `<name>.pgp`), all encrypted to the team
 * key fetched from this site. The `encrypted=1` flag comes first: the server decides from
 * the fields before a file whether an OpenPGP file is acceptable.
 * @throws when the key cannot be fetched or read, or encryption fails: nothing is sent then
 */
export async function encryptReportForm(form: HTMLFormElement): Promise<FormData> {
  const response = await fetch("/security/pgp-key.asc", { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error(`the team key could not be fetched (HTTP ${response.status})`);
  const teamKey = await readKey({ armoredKey: await response.text() });

  const out = new FormData();
  out.append("encrypted", "1");
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string") {
      if (ENCRYPTED_FIELDS.has(name) && value !== "") {
        const message = await createMessage({ binary: formBytes(value) });
        out.append(name, await encrypt({ message, encryptionKeys: teamKey, format: "armored" }));
      } else {
        out.append(name, value);
      }
    } else if (value.name === "" && value.size === 0) {
      out.append(name, value); // the empty file input a browser always sends
    } else {
      const message = await createMessage({ binary: new Uint8Array(await value.arrayBuffer()), filename: value.name });
      const ciphertext = await encrypt({ message, encryptionKeys: teamKey, format: "binary" });
      out.append(name, new File([ciphertext as Uint8Array<ArrayBuffer>], `${value.name}.pgp`, { type: "application/pgp-encrypted" }));
    }
  }
  return out;
}
