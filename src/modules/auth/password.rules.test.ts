import { describe, expect, it } from "vitest";
import { findPasswordProblem } from "./password.rules.js";

describe("team passwords", () => {
  it("accept a long phrase of unrelated words", () => {
    expect(findPasswordProblem("violet kettle harbour ninety")).toBeNull();
  });

  it("need at least 12 characters, and say how many there are", () => {
    expect(findPasswordProblem("k3#Vq9!zLp2")).toBe("Use at least 12 characters (this one has 11).");
  });

  it("refuse common passwords that are long enough, saying why", () => {
    expect(findPasswordProblem("password1234")).toMatch(/^This password is too easy to guess\. This is similar to a commonly used password\./);
    expect(findPasswordProblem("qwertyuiopasdf")).toMatch(/too easy to guess/);
    expect(findPasswordProblem("123456789012")).toMatch(/too easy to guess/);
  });

  it("refuse a password made of the person's own e-mail address", () => {
    expect(findPasswordProblem("grace.hopper1906", ["grace.hopper@example.com", "Grace Hopper"])).toBe(
      "This password is too easy to guess. It contains your e-mail address or name. Use a longer phrase of unrelated words.",
    );
    expect(findPasswordProblem("Tide GRACEHOPPER tea", ["grace.hopper@example.com", "Grace Hopper"])).toMatch(/your e-mail address or name/);
    expect(findPasswordProblem("grace.hopper1906")).toBeNull();
  });

  it("refuse more than 1,000 characters", () => {
    expect(findPasswordProblem("a".repeat(1001))).toBe("Use at most 1000 characters.");
  });
});
