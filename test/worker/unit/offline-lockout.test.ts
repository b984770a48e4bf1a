import { describe, expect, it } from "vitest";
import { NO_LOCKOUT, OFFLINE_LOCKOUT, isLocked, lockDurationMs, recordFailure, type LockoutState } from "../../../core/offline-lockout";

const MIN = 60_000;
const HOUR = 60 * MIN;

describe("offline-code lockout (exponential back-off)", () => {
  it("the first four wrong codes are free, the fifth locks for a minute", () => {
    let s: LockoutState = NO_LOCKOUT;
    const t = 1_000_000;
    for (let i = 1; i <= 4; i++) {
      const r = recordFailure(s, t + i);
      expect(r.locked).toBeNull();
      expect(isLocked(r.state, t + i)).toBe(false);
      s = r.state;
    }
    const fifth = recordFailure(s, t + 5);
    expect(fifth.locked).toEqual({ untilMs: t + 5 + MIN, durationMs: MIN, failures: 5 });
    expect(isLocked(fifth.state, t + 5 + MIN - 1)).toBe(true);
    expect(isLocked(fifth.state, t + 5 + MIN)).toBe(false);
  });

  it("each further wrong code doubles the lock, capped at 24 hours", () => {
    expect([5, 6, 7, 8].map((n) => lockDurationMs(n))).toEqual([MIN, 2 * MIN, 4 * MIN, 8 * MIN]);
    expect(lockDurationMs(15)).toBe(1024 * MIN);
    expect(lockDurationMs(16)).toBe(OFFLINE_LOCKOUT.maxLockMs);
    expect(lockDurationMs(16)).toBe(24 * HOUR);
    expect(lockDurationMs(5000)).toBe(24 * HOUR);
  });

  it("waiting out a lock does not reset the count: the next wrong code locks for longer", () => {
    let s: LockoutState = NO_LOCKOUT;
    let t = 0;
    for (let i = 0; i < 5; i++) s = recordFailure(s, (t += 1000)).state;
    t = s.lockedUntil; // waited the minute out
    const next = recordFailure(s, t);
    expect(next.locked!.durationMs).toBe(2 * MIN);
    expect(next.state.failures).toBe(6);
  });

  it("an attacker who always waits out the lock gets a few hundred guesses a year, not 175,000", () => {
    let s: LockoutState = NO_LOCKOUT;
    let t = 0;
    let guesses = 0;
    const year = 365 * 24 * HOUR;
    while (t < year) {
      guesses++;
      s = recordFailure(s, t).state;
      t = Math.max(t + 1, s.lockedUntil);
    }
    expect(guesses).toBeLessThan(400);
    expect(guesses).toBeGreaterThan(300);
  });
});
