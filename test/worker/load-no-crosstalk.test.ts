import { describe, expect, it } from "vitest";
import { answer, callAuth, codeOf, freshMsisdn, openLink, waitForLink } from "./support/magic-link";

/**
 * Reliability: many concurrent sessions, each randomly accepted, rejected or left to time
 * out (in random order), and every blocking call must get exactly its own result: nothing
 * lost, no answer delivered to the wrong caller.
 */
const N = 90;
type Fate = "accept" | "reject" | "timeout";
const EXPECTED: Record<Fate, string> = { accept: "TOUCH_ACCEPTED", reject: "TOUCH_REJECTED", timeout: "USER_NOT_RESPONDED" };

describe("load without cross-talk", () => {
  it(`${N} concurrent sessions each get their own result`, async () => {
    const fates: Fate[] = Array.from({ length: N }, (_, i) => (["accept", "reject", "timeout"] as const)[i % 3]!).sort(
      () => Math.random() - 0.5,
    );
    const sessions = fates.map((fate) => {
      const msisdn = freshMsisdn();
      return { fate, msisdn, call: callAuth(msisdn, { params: { "touch-timeout": "15" } }).then(codeOf) };
    });
    // Answer in a random order, interleaved, while all calls are pending.
    const order = sessions.filter((s) => s.fate !== "timeout").sort(() => Math.random() - 0.5);
    await Promise.all(
      order.map(async (s, i) => {
        await new Promise((r) => setTimeout(r, (i % 10) * 20));
        const link = await waitForLink(s.msisdn, 14_000);
        const page = await openLink(link);
        const res = await answer(link, s.fate as "accept" | "reject", page.csrf!);
        expect(res.status).toBe(200);
      }),
    );
    const results = await Promise.all(sessions.map((s) => s.call));
    const wrong = sessions.map((s, i) => ({ ...s, got: results[i] })).filter((s) => s.got !== EXPECTED[s.fate]);
    expect(wrong.map(({ fate, msisdn, got }) => ({ fate, msisdn, got }))).toEqual([]);
    expect(results.filter((r) => r === "TOUCH_ACCEPTED")).toHaveLength(N / 3);
  }, 60_000);
});
