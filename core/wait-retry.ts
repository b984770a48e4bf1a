import { TOUCH_ANSWER_SLACK_MS } from "./contracts/relay.ts";

/**
 * When waiting on a session object may be retried (it was evicted or reset mid-wait; its state
 * is in storage). Pure. The relay waits for a Touch answer until its timeout plus
 * TOUCH_ANSWER_SLACK_MS and then counts the edge as unavailable, which a fail-safe relay
 * accepts: so the edge must give up (and answer) before that. An overload is never retried:
 * anyone holding a session's link can flood its object, and that must end in a refusal (500),
 * not in a wait that outlasts the relay.
 */
/** How long past the session's deadline a transient fault is still retried. */
export const WAIT_RETRY_GRACE_MS = TOUCH_ANSWER_SLACK_MS / 3;
/** The longest pause between two tries. */
export const MAX_WAIT_BACKOFF_MS = 1000;

export function retryWait(error: unknown, now: number, deadline: number): boolean {
  const overloaded = typeof error === "object" && error !== null && (error as { overloaded?: unknown }).overloaded === true;
  return !overloaded && now <= deadline + WAIT_RETRY_GRACE_MS;
}

export function waitBackoffMs(attempt: number): number {
  return Math.min(50 * 2 ** attempt, MAX_WAIT_BACKOFF_MS);
}
