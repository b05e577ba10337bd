/**
 * Optional in-browser encryption of the report form. The server renders the checkbox
 * hidden and disabled, so without JavaScript (or without Web Crypto) nothing promises
 * encryption and the form posts in clear as usual. This small module reveals it; ticking
 * it loads openpgp.js (a separate chunk), and on submit the script encrypts the
 * description, steps, impact and files to the team key, posts the form with fetch and
 * shows the server's answer in place: the confirmation with the tracking link arrives
 * as page content, never in a URL; on a refused form the page comes back with its errors
 * and the reporter's clear text is put back into the fields.
 */

type Encryptor = typeof import("./encrypt-report/encrypt-form.js");

const TEXT_FIELDS = ["description", "steps", "impact"] as const;
let encryptor: Promise<Encryptor> | undefined;

function loadEncryptor(): Promise<Encryptor> {
  encryptor ??= import("./encrypt-report/encrypt-form.js").catch((error: unknown) => {
    encryptor = undefined;
    throw error;
  });
  return encryptor;
}

function field(form: HTMLFormElement, name: string): HTMLTextAreaElement | null {
  const element = form.elements.namedItem(name);
  return element instanceof HTMLTextAreaElement ? element : null;
}

/** Replaces the page with the server's answer; its scripts do not run (this one re-arms the form itself). */
function showAnswer(html: string, url: string): void {
  const answer = new DOMParser().parseFromString(html, "text/html");
  document.title = answer.title;
  document.body.replaceWith(document.adoptNode(answer.body));
  if (url && new URL(url).origin === location.origin) history.replaceState(null, "", new URL(url).pathname);
  window.scrollTo(0, 0);
}

function setUp(restore?: Record<string, string>): void {
  const form = document.querySelector<HTMLFormElement>('form[action="/security/report"]');
  const choice = document.getElementById("encrypt-choice");
  const box = document.getElementById("encryptInBrowser");
  const status = document.getElementById("encrypt-status");
  if (!form || !choice || !(box instanceof HTMLInputElement) || !status) return;
  // openpgp.js needs Web Crypto, which browsers give only to secure (https or local) pages.
  if (!globalThis.crypto?.subtle) return;

  choice.hidden = false;
  box.disabled = false;
  box.addEventListener("change", () => {
    if (box.checked) loadEncryptor().catch(() => undefined);
  });

  if (restore) {
    box.checked = true;
    for (const name of TEXT_FIELDS) {
      const element = field(form, name);
      if (element) element.value = restore[name] ?? "";
    }
    document.getElementById("error-summary")?.focus();
  }

  let sending = false;
  form.addEventListener("submit", (event) => {
    if (!box.checked) return;
    event.preventDefault();
    if (sending) return;
    sending = true;
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    if (button) button.disabled = true;
    const typed = Object.fromEntries(TEXT_FIELDS.map((name) => [name, field(form, name)?.value ?? ""]));
    status.textContent = "Encrypting your report…";
    void (async () => {
      let body: FormData;
      try {
        body = await (await loadEncryptor()).encryptReportForm(form);
      } catch (error) {
        status.textContent = `Your report could not be encrypted (${(error as Error).message}). Nothing was sent. Try again, or untick the box to send it over HTTPS without it.`;
        sending = false;
        if (button) button.disabled = false;
        return;
      }
      status.textContent = "Sending your encrypted report…";
      let response: Response;
      let html: string;
      try {
        response = await fetch(form.action, { method: "POST", body, credentials: "same-origin", redirect: "follow" });
        html = await response.text();
      } catch {
        status.textContent = "Your report could not be sent: the connection failed. Check it and try again.";
        sending = false;
        if (button) button.disabled = false;
        return;
      }
      showAnswer(html, response.url);
      // The form came back (a problem with some field): keep what was typed, not its ciphertext.
      if (document.querySelector('form[action="/security/report"]')) setUp(typed);
      else document.getElementById("main")?.focus();
    })();
  });
}

setUp();
