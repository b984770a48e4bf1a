import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshMsisdn } from "./support/magic-link";

/**
 * Concurrent calls on one number's Subscriber object: every check-and-update counts once.
 * (With reads and writes through the async storage API, bursts of admits lost entries.)
 */
describe("Subscriber under concurrent calls", () => {
  it("concurrent admits on a number each record their pending entry and rate slot", async () => {
    const lost: string[] = [];
    for (let i = 0; i < 200; i++) {
      const stub = env.SUBSCRIBER.getByName(freshMsisdn());
      const limits = { perMinute: 100, perHour: 100 };
      const results = await Promise.all([0, 1, 2].map((k) => stub.admit(limits, { session: `s${k}`, until: Date.now() + 60_000, cap: 3 })));
      expect(results.every((r) => r.allowed)).toBe(true);
      const held = await stub.pendingCount();
      if (held !== 3) lost.push(`round ${i}: ${held} of 3 entries`);
    }
    expect(lost).toEqual([]);
  });

  it("the cap holds under a burst: of 6 concurrent admits with cap 3, exactly 3 get in", async () => {
    const stub = env.SUBSCRIBER.getByName(freshMsisdn());
    const limits = { perMinute: 100, perHour: 100 };
    const results = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((k) => stub.admit(limits, { session: `s${k}`, until: Date.now() + 60_000, cap: 3 })),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(3);
    expect(results.filter((r) => !r.allowed && r.reason === "too_many_pending")).toHaveLength(3);
    expect(await stub.pendingCount()).toBe(3);
  });

  it("SMS OTP: concurrent wrong guesses each count (the challenge burns), and a right code works once", async () => {
    const guessed = env.SUBSCRIBER.getByName(freshMsisdn());
    const id = (await guessed.startSmsOtp("123456", 60_000))!;
    const wrong = await Promise.all(["000001", "000002", "000003", "000004", "000005"].map((c) => guessed.verifySmsOtp(id, c)));
    expect(wrong.every((v) => v === "reject" || v === "expired")).toBe(true);
    expect(await guessed.verifySmsOtp(id, "123456")).toBe("expired"); // burnt after 3 wrong codes

    const twice = env.SUBSCRIBER.getByName(freshMsisdn());
    const id2 = (await twice.startSmsOtp("654321", 60_000))!;
    const both = await Promise.all([twice.verifySmsOtp(id2, "654321"), twice.verifySmsOtp(id2, "654321")]);
    expect(both.sort()).toEqual(["accept", "expired"]);
  });
});
