/**
 * When to dial the edge again: exponential back-off with full jitter, capped, so a fleet of
 * relays that lost the edge at once does not come back in lockstep. Pure (random injected).
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A link that stayed up this long was healthy: the next failure starts from initialMs again. */
  healthyAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, healthyAfterMs: 60_000 };

/** The wait before dial number `attempt` (0 = the first retry): uniform in [cap/2, cap]. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** The attempt count after a link that was up `upMs` closed (or failed to open: upMs 0). */
export function nextAttempt(attempt: number, upMs: number, policy: BackoffPolicy): number {
  return upMs >= policy.healthyAfterMs ? 0 : attempt + 1;
}
