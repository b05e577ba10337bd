import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { Scheduler } from "./scheduler.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the scheduler of periodic tasks", () => {
  it("runs a task again and again once started, and no more once stopped", async () => {
    let runs = 0;
    const scheduler = new Scheduler([{ name: "count", everyMs: 20, run: async () => runs++ }], createLogger("silent"));
    scheduler.start();
    await sleep(300);
    await scheduler.stop();
    const after = runs;
    expect(after).toBeGreaterThanOrEqual(3);
    await sleep(100);
    expect(runs).toBe(after);
  });

  it("never runs a task over itself, and runNow waits for the run in progress", async () => {
    let active = 0;
    let most = 0;
    const scheduler = new Scheduler(
      [
        {
          name: "slow",
          everyMs: 1000,
          run: async () => {
            active++;
            most = Math.max(most, active);
            await sleep(30);
            active--;
            return "done";
          },
        },
      ],
      createLogger("silent"),
    );
    const results = await Promise.all([scheduler.runNow("slow"), scheduler.runNow("slow"), scheduler.runNow("slow")]);
    expect(results).toEqual(["done", "done", "done"]);
    expect(most).toBe(1);
    await expect(scheduler.runNow("missing")).rejects.toThrow("no periodic task missing");
  });

  it("keeps going after a run that fails", async () => {
    let runs = 0;
    const scheduler = new Scheduler(
      [
        {
          name: "flaky",
          everyMs: 20,
          run: async () => {
            runs++;
            throw new Error("database away");
          },
        },
      ],
      createLogger("silent"),
    );
    scheduler.start();
    await sleep(300);
    await scheduler.stop();
    expect(runs).toBeGreaterThanOrEqual(2);
  });
});
