import { describe, expect, it } from "vitest";
import { hasRoomFor, livePending, withoutChallenges, type PendingEntries } from "../../../workers/objects/subscriber/admission";

describe("Subscriber admission: pending entries", () => {
  const now = 1_000_000;

  it("drops entries that lapsed (until <= now) and keeps the rest as they are", () => {
    const entries: PendingEntries = {
      lapsed: { until: now - 1 },
      endsNow: { until: now },
      live: { until: now + 1, challengeId: "c1" },
      approving: { until: now + 60_000, approver: true, challengeId: "c2" },
    };
    expect(livePending(entries, now)).toEqual({
      live: { until: now + 1, challengeId: "c1" },
      approving: { until: now + 60_000, approver: true, challengeId: "c2" },
    });
    expect(livePending({}, now)).toEqual({});
  });

  it("counts the number's own sign-ins against the cap, not the approvals asked of it", () => {
    const own = (n: number): PendingEntries => Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { until: now + 1 }]));
    expect(hasRoomFor({}, 1)).toBe(true);
    expect(hasRoomFor(own(2), 3)).toBe(true);
    expect(hasRoomFor(own(3), 3)).toBe(false);
    expect(hasRoomFor(own(4), 3)).toBe(false);
    const withApprovals: PendingEntries = { ...own(2), a1: { until: now + 1, approver: true }, a2: { until: now + 1, approver: true } };
    expect(hasRoomFor(withApprovals, 3)).toBe(true);
    expect(hasRoomFor(withApprovals, 2)).toBe(false);
    expect(hasRoomFor({}, 0)).toBe(false);
  });

  it("withoutChallenges removes every challenge id and keeps the entries and their other fields", () => {
    const entries: PendingEntries = {
      pushed: { until: now + 5, challengeId: "c1" },
      approving: { until: now + 9, challengeId: "c2", approver: true },
      plain: { until: now + 7 },
    };
    const cleared = withoutChallenges(entries);
    expect(cleared).toEqual({ pushed: { until: now + 5 }, approving: { until: now + 9, approver: true }, plain: { until: now + 7 } });
    for (const entry of Object.values(cleared)) expect("challengeId" in entry).toBe(false);
    // The input is not changed (callers may still hold it).
    expect(entries.pushed?.challengeId).toBe("c1");
  });
});
