import { describe, expect, it } from "vitest";
import { BUDGET_SHARDS, budgetShare } from "../../workers/domain/app-activation-request";
import { TEST_CONFIG, activationSmsCount, withConfig } from "./support/app-activation";
import { freshMsisdn } from "./support/magic-link";

/**
 * The deployment's budget of in-app activation SMS (appActivation.smsBudget): many addresses
 * asking for many numbers (SMS pumping) stop there. Its own file: the budget's counters are
 * the deployment's, so other files' activations would spend it.
 */
describe("in-app activation: the deployment's SMS budget", () => {
  it("sends no more activation SMS than the budget, however many addresses ask for however many numbers", async () => {
    const smsBudget = { perMinute: 16, perHour: 16 };
    const config = { ...TEST_CONFIG, appActivation: { endpoint: "default", smsBudget } };
    const numbers = Array.from({ length: 24 }, (_, i) => freshMsisdn(String(1000 + i)));
    for (const [i, msisdn] of numbers.entries()) {
      // Every ask is answered alike: the budget is spent after the answer, like the number's cap.
      expect((await withConfig(config, "activation-request", { msisdn }, `198.51.100.${20 + i}`)).status).toBe(202);
    }
    const sent = (await Promise.all(numbers.map(activationSmsCount))).reduce((a, b) => a + b, 0);
    expect(budgetShare(smsBudget).perMinute * BUDGET_SHARDS).toBe(16);
    expect(sent).toBe(16);
  });

  it("splits the budget over counters that together hold it, a little over when it does not divide", () => {
    expect(budgetShare({ perMinute: 20, perHour: 200 })).toEqual({ perMinute: 3, perHour: 25 });
    expect(budgetShare({ perMinute: 1, perHour: 1 })).toEqual({ perMinute: 1, perHour: 1 });
  });
});
