/**
 * When a webhook is tried again after a failed attempt: exponential-ish back-off as Standard
 * Webhooks suggests (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), 8 attempts over about 27.6 h,
 * then it is given up. Pure, so the schedule is unit-tested; the object's alarm follows it.
 */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/** Attempts in all, the first included. */
export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_DELAYS_MS.length + 1;

/** Each attempt's time limit (connect, send, answer). */
export const WEBHOOK_ATTEMPT_TIMEOUT_MS = 10_000;

/** When to try again after `attempts` failed attempts; null: give up. */
export function nextWebhookAttempt(attempts: number, now: number): number | null {
  const delay = WEBHOOK_RETRY_DELAYS_MS[attempts - 1];
  return attempts >= 1 && delay !== undefined ? now + delay : null;
}
