/**
 * Shows every `<time datetime>` marked `data-local` in the reader's own time zone; the
 * server renders UTC, which stays as the fallback without JavaScript.
 */
export function localizeTimes(root: ParentNode = document): void {
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const element of root.querySelectorAll<HTMLTimeElement>("time[data-local][datetime]")) {
    const date = new Date(element.dateTime);
    if (!Number.isNaN(date.getTime())) {
      element.title = element.textContent ?? "";
      element.textContent = format.format(date);
    }
  }
}

localizeTimes();
