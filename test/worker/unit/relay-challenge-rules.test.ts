import { describe, expect, it } from "vitest";
import type { StoredChallenge } from "../../../workers/objects/relay-challenges/contract";
import { evictions, judgeRedeem, nextExpiry, nextSeq } from "../../../workers/objects/relay-challenges/rules";

const entry = (seq: number, expiresAt: number, over: Partial<StoredChallenge> = {}): [string, StoredChallenge] => [
  `c:${seq}`,
  {
    site: "hq",
    relay: "hq-a",
    user: "Alice",
    username: "alice",
    msisdn: "+46701234567",
    method: "sms",
    nas: { address: "10.0.0.1" },
    issuedAt: 0,
    expiresAt,
    seq,
    ...over,
  },
];

describe("RelayChallenges rules", () => {
  it("evicts the expired, then the oldest by issue order (not by key) to leave room for one", () => {
    // Keys in another order than seq: storage lists by key, the cap goes by issue order.
    const entries = [entry(5, 100), entry(2, 100), entry(9, 100), entry(1, 100), entry(7, 100)];
    expect(evictions(entries, 0, 5)).toEqual(["c:1"]);
    expect(evictions(entries, 0, 3)).toEqual(["c:1", "c:2", "c:5"]);
    expect(evictions([entry(1, 10), entry(2, 100)], 10, 5)).toEqual(["c:1"]);
    expect(evictions([], 0, 5)).toEqual([]);
  });

  it("judges a presented State: expired first, then site, User-Name and NAS", () => {
    const [, c] = entry(1, 100);
    const ask = { site: "hq", user: "Alice", nas: { address: "10.0.0.1" } };
    expect(judgeRedeem(c, ask, 99)).toEqual({ ok: true, challenge: c });
    expect(judgeRedeem(c, ask, 100)).toEqual({ ok: false, reason: "expired" });
    expect(judgeRedeem(c, { ...ask, user: "alice" }, 0)).toEqual({ ok: false, reason: "mismatch" });
    expect(judgeRedeem(c, { ...ask, site: "branch" }, 0)).toEqual({ ok: false, reason: "mismatch" });
    expect(judgeRedeem(c, { ...ask, nas: { address: "10.0.0.1", identifier: "x" } }, 0)).toEqual({ ok: false, reason: "mismatch" });
  });

  it("the next expiry and issue number", () => {
    expect(nextExpiry([entry(1, 300)[1], entry(2, 200)[1]])).toBe(200);
    expect(nextExpiry([])).toBeNull();
    expect(nextSeq([entry(4, 0)[1], entry(9, 0)[1]])).toBe(10);
    expect(nextSeq([])).toBe(1);
  });
});
