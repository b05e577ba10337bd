import { describe, expect, it } from "vitest";
import { describeCountdown, describeSpan, urgencyOf } from "./countdown.js";

const NOW = Date.parse("2026-03-02T09:00:00Z");
const at = (ms: number) => new Date(NOW + ms).toISOString();
const MIN = 60_000;

describe("countdowns on the desk", () => {
  it("reads the time left in its two largest units", () => {
    expect(describeCountdown("running", at(3 * 60 * MIN + 12 * MIN + 30_000), NOW)).toBe("3 h 12 min left");
    expect(describeCountdown("running", at(2 * 24 * 60 * MIN + 5 * 60 * MIN), NOW)).toBe("2 d 5 h left");
    expect(describeCountdown("running", at(60 * MIN), NOW)).toBe("1 h left");
    expect(describeCountdown("running", at(45_000), NOW)).toBe("45 s left");
  });

  it("says how long ago a target was missed, also when the page saw it run out", () => {
    expect(describeCountdown("missed", at(-20 * MIN), NOW)).toBe("missed 20 min ago");
    expect(describeCountdown("running", at(-90 * MIN), NOW)).toBe("missed 1 h 30 min ago");
  });

  it("says paused while waiting for the reporter, and met once the milestone is reached", () => {
    expect(describeCountdown("paused", at(5 * MIN), NOW)).toBe("paused");
    expect(describeCountdown("met", at(-5 * MIN), NOW)).toBe("met");
  });

  it("marks clocks in their last four hours as soon, and passed ones as missed", () => {
    expect(urgencyOf("running", at(3 * 60 * MIN), NOW)).toBe("soon");
    expect(urgencyOf("running", at(5 * 60 * MIN), NOW)).toBe("ok");
    expect(urgencyOf("running", at(-1), NOW)).toBe("missed");
    expect(urgencyOf("paused", at(-1), NOW)).toBe("stopped");
  });

  it("counts the last minute in seconds", () => {
    expect(describeSpan(59_999)).toBe("59 s");
    expect(describeSpan(60_000)).toBe("1 min");
  });
});
