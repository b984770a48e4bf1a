/**
 * Lockout of a number's offline codes (TOTP, challenge-response) against online guessing: a
 * few wrong codes are free (typos); the `lockAfter`-th locks the checks for `firstLockMs`, and
 * each further wrong code locks them for twice as long as the last lock, up to a cap. Only a correct code resets it; time alone does not,
 * so waiting out a lock buys an attacker exactly one more guess. Pure: the number's
 * Subscriber object stores the state and the clock is passed in.
 *
 * Locking at the 5th wrong code, a 1-minute first lock and a 24-hour cap an attacker gets about 16
 * guesses on the first day and one a day after that (~380 a year, against 175,000 under the
 * old 20-an-hour window): with 3 valid TOTP codes in a million, about 0.1 % a year.
 */
export interface LockoutState {
  /** Wrong codes since the last correct one. */
  failures: number;
  /** Checks are refused (without checking or counting) until this time. */
  lockedUntil: number;
}

export interface LockoutPolicy {
  /** The wrong code that starts the first lock (the ones before it are free). */
  lockAfter: number;
  firstLockMs: number;
  maxLockMs: number;
}

export const OFFLINE_LOCKOUT: LockoutPolicy = { lockAfter: 5, firstLockMs: 60_000, maxLockMs: 24 * 3_600_000 };

export const NO_LOCKOUT: LockoutState = { failures: 0, lockedUntil: 0 };

export function isLocked(state: LockoutState, now: number): boolean {
  return now < state.lockedUntil;
}

/** How long the lock after the `failures`-th wrong code lasts (0: still free). */
export function lockDurationMs(failures: number, policy: LockoutPolicy = OFFLINE_LOCKOUT): number {
  const beyond = failures - policy.lockAfter;
  if (beyond < 0) return 0;
  // 2 ** beyond overflows to Infinity long after the cap, so min() stays correct.
  return Math.min(policy.firstLockMs * 2 ** beyond, policy.maxLockMs);
}

export interface FailureOutcome {
  state: LockoutState;
  /** Set when this failure started (or lengthened) a lock: worth an alert. */
  locked: { untilMs: number; durationMs: number; failures: number } | null;
}

/** A wrong code (or an unusable seed) was counted at `now`. */
export function recordFailure(state: LockoutState, now: number, policy: LockoutPolicy = OFFLINE_LOCKOUT): FailureOutcome {
  const failures = state.failures + 1;
  const durationMs = lockDurationMs(failures, policy);
  if (durationMs === 0) return { state: { failures, lockedUntil: state.lockedUntil }, locked: null };
  const untilMs = now + durationMs;
  return { state: { failures, lockedUntil: untilMs }, locked: { untilMs, durationMs, failures } };
}
