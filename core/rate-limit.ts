/**
 * Sliding-window rate limit over the timestamps of admitted requests. Pure: the per-MSISDN
 * Durable Object owns the array and persists what this returns. Refused requests are not
 * recorded, so the history never exceeds perHour entries.
 */
export interface RateLimits {
  perMinute: number;
  perHour: number;
}

export interface RateDecision {
  allowed: boolean;
  /** History to persist (pruned to the last hour, plus `now` when allowed). */
  history: number[];
  /** When refused: milliseconds until a request would be admitted. */
  retryAfterMs: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

export function admit(history: readonly number[], limits: RateLimits, now: number): RateDecision {
  const lastHour = history.filter((t) => t > now - HOUR && t <= now).sort((a, b) => a - b);
  const lastMinute = lastHour.filter((t) => t > now - MINUTE);
  const minuteFull = lastMinute.length >= limits.perMinute;
  const hourFull = lastHour.length >= limits.perHour;
  if (!minuteFull && !hourFull) {
    return { allowed: true, history: [...lastHour, now], retryAfterMs: 0 };
  }
  // The oldest entry of a full window must age out before a slot frees up.
  const waits: number[] = [];
  if (minuteFull) waits.push(lastMinute[lastMinute.length - limits.perMinute]! + MINUTE - now);
  if (hourFull) waits.push(lastHour[lastHour.length - limits.perHour]! + HOUR - now);
  return { allowed: false, history: lastHour, retryAfterMs: Math.max(...waits) };
}
