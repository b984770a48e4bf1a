import { describe, expect, it } from "vitest";
import type { ActivationGrant } from "../../../core/device-activation";
import { openChallenges, sessionOfChallenge } from "../../../workers/objects/subscriber/challenges";
import { MAX_GRANTS, UPDATE_WINDOW_MS, activationGrants, isFresh, withGrant } from "../../../workers/objects/subscriber/device";

const grant = (expiresAt: number, attempts = 0): ActivationGrant => ({ expiresAt, codeMac: `mac${expiresAt}`, attempts });

describe("Subscriber device: activation grants", () => {
  const now = 5_000_000;

  it("drops grants stored by an earlier version (a bare expiry) and keeps real ones", () => {
    expect(activationGrants({ old: now + 1000, live: grant(now + 10), broken: 0 })).toEqual({ live: grant(now + 10) });
    expect(activationGrants({})).toEqual({});
  });

  it("a new grant drops expired ones and keeps the newest, at most MAX_GRANTS in all", () => {
    const existing = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`t${i}`, grant(now + (i + 1) * 1000)]));
    existing.expired = grant(now);
    const next = withGrant(existing, "fresh", grant(now + 600_000), now);
    expect(Object.keys(next)).toHaveLength(MAX_GRANTS);
    expect(next.fresh).toEqual(grant(now + 600_000));
    expect(next.expired).toBeUndefined();
    // The newest existing ones stay (t6 expires last), the oldest go.
    expect(Object.keys(next).sort()).toEqual(["fresh", "t3", "t4", "t5", "t6"]);
  });

  it("a new grant keeps the attempts counted on the others", () => {
    const next = withGrant({ a: grant(now + 50, 2) }, "b", grant(now + 100), now);
    expect(next).toEqual({ a: grant(now + 50, 2), b: grant(now + 100) });
  });
});

describe("Subscriber device: signed request freshness", () => {
  it("accepts an iat within the window either side of now, and refuses one beyond it", () => {
    const now = 1_700_000_000_000;
    const seconds = now / 1000;
    expect(isFresh(seconds, now)).toBe(true);
    expect(isFresh(seconds - UPDATE_WINDOW_MS / 1000, now)).toBe(true);
    expect(isFresh(seconds + UPDATE_WINDOW_MS / 1000, now)).toBe(true);
    expect(isFresh(seconds - UPDATE_WINDOW_MS / 1000 - 1, now)).toBe(false);
    expect(isFresh(seconds + UPDATE_WINDOW_MS / 1000 + 1, now)).toBe(false);
    // iat is in seconds: milliseconds are far out of the window.
    expect(isFresh(now, now)).toBe(false);
  });
});

describe("Subscriber push challenges: lookup", () => {
  const entries = {
    mine: { until: 10, challengeId: "c-mine" },
    approving: { until: 10, challengeId: "c-approve", approver: true as const },
    notPushed: { until: 10 },
  };

  it("finds the session behind a challenge id, and nothing for an unknown one", () => {
    expect(sessionOfChallenge(entries, "c-mine")).toBe("mine");
    expect(sessionOfChallenge(entries, "c-approve")).toBe("approving");
    expect(sessionOfChallenge(entries, "c-other")).toBeNull();
    expect(sessionOfChallenge({}, "c-mine")).toBeNull();
  });

  it("lists the challenge ids open, skipping entries never pushed", () => {
    expect(openChallenges(entries).sort()).toEqual(["c-approve", "c-mine"]);
    expect(openChallenges({ notPushed: { until: 1 } })).toEqual([]);
  });
});
