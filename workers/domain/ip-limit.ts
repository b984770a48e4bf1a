import type { RateLimits } from "../../core/rate-limit";
import { ipBucket } from "../lib/client-ip";
import { objectStub } from "../lib/durable-objects";

/**
 * Per-client-address limits, reusable by any route: `scope` names the counter ("auth-fail"
 * for failed Magic Link / offline API calls), `ip` comes from lib/client-ip.ts. One
 * IpLimiter object per address (IPv6: per /64), so no object is hot.
 * A request without an address (only outside Cloudflare, e.g. tests) is not limited.
 */
export type IpAdmission = { allowed: true } | { allowed: false; retryAfterMs: number };

export async function admitByIp(env: Env, scope: string, ip: string | null, limits: RateLimits): Promise<IpAdmission> {
  if (!ip) return { allowed: true };
  return admitByKey(env, ipBucket(ip), scope, limits);
}

/**
 * The same counters for any other key (e.g. a reset's username, hashed): one IpLimiter object
 * per key. Keys must not collide with address buckets: give them a prefix of their own.
 */
export async function admitByKey(env: Env, key: string, scope: string, limits: RateLimits): Promise<IpAdmission> {
  const d = await objectStub(env, "IP_LIMITER", key).admit(scope, limits);
  return d.allowed ? { allowed: true } : { allowed: false, retryAfterMs: d.retryAfterMs };
}
