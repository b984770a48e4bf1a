import { DurableObject } from "cloudflare:workers";
import { MAX_CHALLENGES_PER_USER } from "../../../core/contracts/relay-challenge";
import type { NewChallenge, RedeemAsk, RedeemResult, StoredChallenge } from "./contract";
import { evictions, judgeRedeem, nextExpiry, nextSeq } from "./rules";

const PREFIX = "c:";

/**
 * The pending RADIUS Access-Challenges of one user at one site (named "<site>/<owner key>",
 * see workers/domain/relay-challenges.ts), so any relay of the site can answer a challenge
 * another relay issued. Keyed by the SHA-256 of the State (the State itself is never stored),
 * at most MAX_CHALLENGES_PER_USER at once (a new one evicts the oldest), deleted by the alarm
 * once expired, and deleted when presented, whatever the outcome: single use across relays.
 *
 * Every method awaits nothing but storage between its read and its write, so the input gate
 * keeps other calls out: two relays presenting one State at once cannot both get it.
 */
export class RelayChallenges extends DurableObject<Env> {
  async issue(stateHash: string, c: NewChallenge): Promise<void> {
    const now = Date.now();
    const all = [...(await this.ctx.storage.list<StoredChallenge>({ prefix: PREFIX }))];
    const drop = evictions(all, now, MAX_CHALLENGES_PER_USER);
    if (drop.length > 0) await this.ctx.storage.delete(drop);
    const { ttlMs, ...rest } = c;
    const stored: StoredChallenge = { ...rest, issuedAt: now, expiresAt: now + ttlMs, seq: nextSeq(all.map(([, v]) => v)) };
    await this.ctx.storage.put(`${PREFIX}${stateHash}`, stored);
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > stored.expiresAt) await this.ctx.storage.setAlarm(stored.expiresAt);
  }

  /** Consumes the entry (whatever the outcome), then judges it. */
  async redeem(stateHash: string, ask: RedeemAsk): Promise<RedeemResult> {
    const key = `${PREFIX}${stateHash}`;
    const c = await this.ctx.storage.get<StoredChallenge>(key);
    if (!c) return { ok: false, reason: "unknown" };
    await this.ctx.storage.delete(key);
    return judgeRedeem(c, ask, Date.now());
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const all = await this.ctx.storage.list<StoredChallenge>({ prefix: PREFIX });
    const expired = [...all].filter(([, c]) => c.expiresAt <= now).map(([k]) => k);
    for (let i = 0; i < expired.length; i += 128) await this.ctx.storage.delete(expired.slice(i, i + 128));
    const next = nextExpiry([...all.values()].filter((c) => c.expiresAt > now));
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }
}
