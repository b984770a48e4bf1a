/**
 * Durable Object errors carry `retryable` (a transient fault of the platform: the object was
 * reset, a network blip inside Cloudflare) and `overloaded` (too many requests for one object).
 * Only the first means "temporarily unavailable" for a relay's fail mode: an overload can be
 * caused on purpose (floods for one number), so it must never open the door.
 */
export function isTransientPlatformError(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const { retryable, overloaded } = e as { retryable?: unknown; overloaded?: unknown };
  return retryable === true && overloaded !== true;
}
