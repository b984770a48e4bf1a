import { DurableObject } from "cloudflare:workers";
import { admit, type RateDecision, type RateLimits } from "../workers/lib/rate-limit";

/**
 * One object per MSISDN (named by it). Holds the subscriber's rate-limit history; device
 * state for the authenticator app lives here too. Per-number objects keep a busy number
 * from slowing anyone else down.
 */
export class Subscriber extends DurableObject<Env> {
  /** Records an authentication attempt if the limits allow it. */
  async admit(limits: RateLimits): Promise<Pick<RateDecision, "allowed" | "retryAfterMs">> {
    const history = (await this.ctx.storage.get<number[]>("rate")) ?? [];
    const decision = admit(history, limits, Date.now());
    await this.ctx.storage.put("rate", decision.history);
    return { allowed: decision.allowed, retryAfterMs: decision.retryAfterMs };
  }
}
