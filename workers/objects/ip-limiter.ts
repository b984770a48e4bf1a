import { DurableObject } from "cloudflare:workers";
import { admit, type RateLimits } from "../../core/rate-limit";

const HOUR = 3_600_000;

/**
 * Sliding-window counters for one client address (one object per IP, or per IPv6 /64), one
 * window per scope ("auth-fail", …). Only the timestamps of the last hour are kept, and an
 * object wipes itself an hour after its last use. The window math is lib/rate-limit.ts.
 * The reset portal also names one per (endpoint, username) hash ("reset-user:…"), for its
 * per-username limit: the same counters, another key.
 */
export class IpLimiter extends DurableObject<Env> {
  async admit(scope: string, limits: RateLimits): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const now = Date.now();
    const key = `window:${scope}`;
    // Synchronous storage: read, decide and write happen with no other call in between.
    const decision = admit(this.ctx.storage.kv.get<number[]>(key) ?? [], limits, now);
    this.ctx.storage.kv.put(key, decision.history);
    await this.ctx.storage.setAlarm(now + HOUR);
    return { allowed: decision.allowed, retryAfterMs: decision.retryAfterMs };
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
