import { describeCountdown, urgencyOf, type CountdownState } from "../desk/countdown.js";
import { localizeTimes } from "./local-time.js";

/**
 * The desk's small helpers; every page works without them.
 * - Countdowns (`time[data-countdown]`) tick each second.
 * - The queue's results refresh every 30 s: the same URL is fetched with the
 *   `x-desk-fragment: results` header and the server's escaped HTML replaces the old
 *   results through DOMParser (no `innerHTML` of anything a reporter typed).
 * - The CVSS calculators fill the vector field; the CWE field suggests weaknesses.
 */

const REFRESH_MS = 30_000;
const COUNTDOWN_STATES = new Set<CountdownState>(["running", "paused", "met", "missed"]);

function tickCountdowns(root: ParentNode = document): void {
  const now = Date.now();
  for (const element of root.querySelectorAll<HTMLElement>("time[data-countdown]")) {
    const state = element.dataset.state as CountdownState | undefined;
    if (!state || !COUNTDOWN_STATES.has(state) || state === "met" || state === "paused") continue;
    const due = element.dataset.due ?? null;
    const text = describeCountdown(state, due, now);
    if (element.textContent !== text) element.textContent = text;
    const urgency = urgencyOf(state, due, now);
    for (const name of ["missed", "soon", "ok", "stopped"]) element.classList.toggle(`urgency-${name}`, name === urgency);
  }
}

async function refreshResults(): Promise<void> {
  const current = document.getElementById("desk-results");
  if (!current || document.hidden) return;
  const response = await fetch(window.location.href, { headers: { "x-desk-fragment": "results" }, credentials: "same-origin", redirect: "error" });
  if (!response.ok || !(response.headers.get("content-type") ?? "").startsWith("text/html")) return;
  const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = parsed.getElementById("desk-results");
  if (!fresh) return;
  const adopted = document.importNode(fresh, true);
  current.replaceWith(adopted);
  localizeTimes(adopted);
  tickCountdowns(adopted);
}

/**
 * A calculator's selects build the vector once every metric is chosen; an existing vector
 * presets them. The score and the vector in words follow each change (the desk's own
 * scoring, /desk/cvss), also for a vector typed or pasted into the field.
 */
function wireCvssCalculator(details: HTMLDetailsElement): void {
  const version = details.dataset.cvssVersion;
  const input = document.getElementById(details.dataset.vectorInput ?? "") as HTMLInputElement | null;
  if (!version || !input) return;
  const selects = [...details.querySelectorAll<HTMLSelectElement>("select[data-metric]")];
  const scoreOut = document.getElementById(details.dataset.score ?? "");
  const wordsOut = document.getElementById(details.dataset.words ?? "");
  let timer: number | undefined;
  let asked = 0;
  const showScore = (vector: string) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const mine = ++asked;
      const response = await fetch(`/desk/cvss?version=${encodeURIComponent(version)}&vector=${encodeURIComponent(vector)}`, { headers: { accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok || mine !== asked) return;
      const { text, words } = (await response.json()) as { text: string; words: string[] };
      if (scoreOut) scoreOut.textContent = text;
      if (wordsOut) {
        wordsOut.replaceChildren(
          ...words.map((word) => {
            const item = document.createElement("li");
            item.textContent = word;
            return item;
          }),
        );
      }
    }, 150);
  };
  input.addEventListener("input", () => showScore(input.value.trim()));
  const preset = () => {
    const parts = new Map(input.value.split("/").slice(1).map((part) => part.split(":") as [string, string]));
    for (const select of selects) {
      const value = parts.get(select.dataset.metric ?? "");
      if (value !== undefined && [...select.options].some((o) => o.value === value)) select.value = value;
    }
  };
  preset();
  for (const select of selects) {
    select.addEventListener("change", () => {
      if (selects.some((s) => s.value === "")) {
        // Not every metric yet: the chosen ones in words, the vector field as it is.
        showScore([`CVSS:${version}`, ...selects.filter((s) => s.value !== "").map((s) => `${s.dataset.metric}:${s.value}`)].join("/"));
        return;
      }
      const base = selects.map((s) => `${s.dataset.metric}:${s.value}`).join("/");
      // Keep optional metrics already typed after the base ones (temporal, environmental…).
      const chosen = new Set(selects.map((s) => s.dataset.metric));
      const extra = input.value.split("/").slice(1).filter((part) => !chosen.has(part.split(":")[0]));
      input.value = [`CVSS:${version}`, base, ...extra].join("/");
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
  input.addEventListener("change", preset);
}

/** Suggestions for the CWE field from the desk's own search (same session, JSON). */
function wireCweSearch(input: HTMLInputElement): void {
  const list = document.getElementById(input.getAttribute("list") ?? "");
  if (!(list instanceof HTMLDataListElement)) return;
  let timer: number | undefined;
  let lastQuery = "";
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const q = input.value.trim();
      if (q.length < 2 || q === lastQuery || /^CWE-\d+$/i.test(q)) return;
      lastQuery = q;
      const response = await fetch(`/desk/cwe?q=${encodeURIComponent(q)}`, { headers: { accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const { weaknesses } = (await response.json()) as { weaknesses: Array<{ id: string; name: string }> };
      const options = weaknesses.map((w) => {
        const option = document.createElement("option");
        option.value = w.id;
        option.textContent = `${w.id}: ${w.name}`;
        return option;
      });
      list.replaceChildren(...options);
    }, 250);
  });
}

tickCountdowns();
window.setInterval(() => tickCountdowns(), 1000);
if (document.getElementById("desk-results")) {
  window.setInterval(() => void refreshResults().catch(() => {}), REFRESH_MS);
}
for (const details of document.querySelectorAll<HTMLDetailsElement>("details.cvss-calculator")) wireCvssCalculator(details);
const cwe = document.querySelector<HTMLInputElement>("input#cwe[list]");
if (cwe) wireCweSearch(cwe);
