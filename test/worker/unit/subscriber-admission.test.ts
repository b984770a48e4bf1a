import { describe, expect, it } from "vitest";
import { hasRoomFor, livePending, withoutChallenges, type PendingEntries } from "../../../workers/objects/subscriber/admission";
import { HostedPending } from "../../../workers/objects/subscriber/hosted-pending";

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

  it("sessions the object hosts count once each, also those with a stored entry from an earlier release", () => {
    const hosted = new HostedPending();
    hosted.add("h1", { until: now + 10 });
    hosted.add("h2", { until: now + 10, stored: true });
    hosted.add("lapsed", { until: now });
    const view = { count: hosted.live(now), holds: (s: string) => hosted.holds(s) };
    expect(view.count).toBe(2);
    expect(hosted.holds("lapsed")).toBe(false);
    // h2's stored entry is the same session: three in all, not four.
    const entries: PendingEntries = { h2: { until: now + 10 }, own: { until: now + 10 }, a: { until: now + 10, approver: true } };
    expect(hasRoomFor(entries, 4, view)).toBe(true);
    expect(hasRoomFor(entries, 3, view)).toBe(false);
    expect(hasRoomFor({}, 3, view)).toBe(true);
    expect(hasRoomFor({}, 2, view)).toBe(false);
  });

  it("a hosted session's challenge: opened only for a session held, found while live, closed once, released with what it held", () => {
    const hosted = new HostedPending();
    hosted.add("s", { until: now + 10 });
    expect(hosted.open("other", "c0")).toBe(false);
    expect(hosted.open("s", "c1")).toBe(true);
    expect(hosted.sessionOf("c1", now)).toBe("s");
    expect(hosted.sessionOf("c1", now + 10)).toBeNull(); // lapsed
    expect(hosted.sessionOf("c0", now)).toBeNull();
    expect(hosted.challenges(now)).toEqual(["c1"]);
    expect(hosted.close("s")).toBe("c1");
    expect(hosted.close("s")).toBeUndefined();
    expect(hosted.challenges(now)).toEqual([]);
    expect(hosted.sessionOf("c1", now)).toBeNull();
    hosted.open("s", "c2");
    expect(hosted.release("s")).toEqual({ until: now + 10, challengeId: "c2" });
    expect(hosted.release("s")).toBeNull();
    expect(hosted.holds("s")).toBe(false);
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
