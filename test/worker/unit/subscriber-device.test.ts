import { describe, expect, it } from "vitest";
import type { ActivationGrant } from "../../../core/device-activation";
import { openChallenges, sessionOfChallenge } from "../../../workers/objects/subscriber/challenges";
import {
  MAX_GRANTS,
  MAX_UPDATES_TAKEN,
  UPDATE_WINDOW_MS,
  activationGrants,
  isFresh,
  takeUpdateId,
  withGrant,
} from "../../../workers/objects/subscriber/device";

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

  it("grants asked for without a credential never push out one from a live link", () => {
    const requested = (expiresAt: number): ActivationGrant => ({ ...grant(expiresAt), requested: true });
    let grants = withGrant({}, "link", grant(now + 1000), now);
    for (let i = 0; i < 2 * MAX_GRANTS; i++) grants = withGrant(grants, `asked${i}`, requested(now + 2000 + i), now);
    expect(Object.keys(grants)).toHaveLength(MAX_GRANTS);
    expect(grants.link).toEqual(grant(now + 1000));
    // A grant from a link pushes out the asked-for ones first.
    grants = withGrant(grants, "link2", grant(now + 500), now);
    expect(grants.link2).toEqual(grant(now + 500));
    expect(grants.link).toEqual(grant(now + 1000));
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

describe("Subscriber device: signed updates are taken once", () => {
  const now = 7_000_000_000;
  const iat = Math.floor(now / 1000);

  it("takes a new id, refuses it the second time, and forgets it once its iat window has passed", () => {
    const taken = takeUpdateId({}, { jti: "a".repeat(22), iat }, now);
    expect(taken).toEqual({ ["a".repeat(22)]: iat * 1000 + UPDATE_WINDOW_MS });
    expect(takeUpdateId(taken ?? {}, { jti: "a".repeat(22), iat }, now + 1000)).toBeNull();
    // Past the window the update would fail the freshness check anyway: the id is dropped.
    const later = now + UPDATE_WINDOW_MS + 1;
    expect(isFresh(iat, later + 1000)).toBe(false);
    expect(takeUpdateId(taken ?? {}, { jti: "b".repeat(22), iat: Math.floor(later / 1000) }, later)).not.toHaveProperty("a".repeat(22));
  });

  it("at the window's last instant an id is still remembered, and just past it the update is stale", () => {
    const jti = "c".repeat(22);
    const taken = takeUpdateId({}, { jti, iat }, now) ?? {};
    // A replay whose freshness check passed at the window's end, and whose take runs at that instant.
    const edge = iat * 1000 + UPDATE_WINDOW_MS;
    expect(isFresh(iat, edge)).toBe(true);
    expect(takeUpdateId(taken, { jti, iat }, edge)).toBeNull();
    // A take that runs later than the check (queued behind other work) is refused as stale.
    expect(takeUpdateId(taken, { jti, iat }, edge + 1)).toBeNull();
    expect(takeUpdateId({}, { jti: "d".repeat(22), iat }, edge + 1)).toBeNull();
  });

  it("remembers at most MAX_UPDATES_TAKEN ids, dropping those forgotten soonest", () => {
    let taken: Record<string, number> = {};
    for (let i = 0; i < MAX_UPDATES_TAKEN + 5; i++)
      taken = takeUpdateId(taken, { jti: `id-${String(i).padStart(19, "0")}`, iat: iat + i }, now) ?? {};
    expect(Object.keys(taken)).toHaveLength(MAX_UPDATES_TAKEN);
    expect(taken).not.toHaveProperty(`id-${"0".repeat(19)}`);
    expect(taken).toHaveProperty(`id-${String(MAX_UPDATES_TAKEN + 4).padStart(19, "0")}`);
  });
});
