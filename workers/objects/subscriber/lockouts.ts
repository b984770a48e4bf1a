/**
 * The number's lockouts of wrong codes, as stored: whether one runs, and counting a wrong code
 * in it (a lock it starts is logged as an alert). Each kind of code has its own lock; the
 * back-off math is core/offline-lockout.ts.
 */
import { NO_LOCKOUT, isLocked, recordFailure } from "../../../core/offline-lockout";
import { log } from "../../lib/log";
import type { LockView, OfflineCheck } from "./contract";
import type { SubscriberStore } from "./store";

/** A lockout's storage key and the log event of a lock it starts. */
export interface LockKind {
  key: "offlineLock" | "smsOtpLock";
  event: string;
}

export async function isLockedNow(store: SubscriberStore, lock: LockKind, now: number): Promise<boolean> {
  return isLocked((await store.get(lock.key)) ?? NO_LOCKOUT, now);
}

/** Counts a wrong code in `lock`; a lock it starts or lengthens is logged as an alert. */
export async function countWrongCode(
  store: SubscriberStore,
  lock: LockKind,
  now: number,
  maskedMsisdn: string | undefined,
): Promise<OfflineCheck> {
  const outcome = recordFailure((await store.get(lock.key)) ?? NO_LOCKOUT, now);
  await store.put(lock.key, outcome.state);
  if (outcome.locked) {
    log.warn(lock.event, { alert: true, msisdn: maskedMsisdn, ...outcome.locked });
  }
  return { verdict: "reject", lockout: outcome.locked };
}

/** The lockout as an operator sees it (admin API). */
export async function lockView(store: SubscriberStore, lock: LockKind, now: number): Promise<LockView> {
  const state = (await store.get(lock.key)) ?? NO_LOCKOUT;
  return { failures: state.failures, lockedUntil: isLocked(state, now) ? state.lockedUntil : null };
}

/**
 * An operator's reset (after checking who is calling): the count of wrong codes starts again.
 * True when there was anything to clear.
 */
export async function clearLock(store: SubscriberStore, lock: LockKind): Promise<boolean> {
  const state = await store.get(lock.key);
  if (!state || (state.failures === 0 && state.lockedUntil === 0)) return false;
  await store.delete(lock.key);
  return true;
}
