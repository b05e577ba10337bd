import { describe, expect, it } from "vitest";
import { countOf, describeElapsedMinutes, formatInstantIn } from "./human-time.js";

describe("times and counts for people", () => {
  it("writes an instant in the given time zone and names the zone, also across a daylight-saving change", () => {
    expect(formatInstantIn("2026-03-02T09:05:00.000Z", "UTC")).toBe("Mon 2 Mar 2026, 09:05 UTC");
    expect(formatInstantIn("2026-03-02T09:05:00.000Z", "Europe/Berlin")).toBe("Mon 2 Mar 2026, 10:05 CET (Europe/Berlin)");
    expect(formatInstantIn("2026-07-01T09:05:00.000Z", "Europe/Berlin")).toBe("Wed 1 Jul 2026, 11:05 CEST (Europe/Berlin)");
    expect(formatInstantIn("2026-03-02T09:05:00.000Z", "America/New_York")).toBe("Mon 2 Mar 2026, 04:05 GMT-5 (America/New_York)");
  });

  it("makes nouns agree with their counts", () => {
    expect(countOf(1, "minute")).toBe("1 minute");
    expect(countOf(0, "minute")).toBe("0 minutes");
    expect(describeElapsedMinutes(1)).toBe("1 minute");
    expect(describeElapsedMinutes(119)).toBe("119 minutes");
    expect(describeElapsedMinutes(120)).toBe("2 hours");
    expect(describeElapsedMinutes(60 * 24)).toBe("24 hours");
    expect(describeElapsedMinutes(60 * 49)).toBe("2 days");
    expect(describeElapsedMinutes(60 * 24 * 2 - 1)).toBe("47 hours");
  });
});
