import { randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Pending Access-Challenges. The RADIUS State we hand out is 16 random bytes, single use,
 * and bound to the user and the NAS it was issued to: a State replayed from elsewhere, for
 * another user, or a second time is refused.
 */
export type ChallengeMethod = "sms" | "totp" | "challenge-response" | "local-totp";

export interface PendingChallenge {
  /** The User-Name as the NAS sent it (the answer must carry the same). */
  user: string;
  /** The user's key at the edge (normalised account name): what the code is checked for. */
  username: string;
  source: string;
  /** The number the edge checks the code for ("" for local-totp: no phone, no edge). */
  msisdn: string;
  method: ChallengeMethod;
  /** Edge-side SMS OTP challenge id (sms only). */
  challengeId?: string;
  /** The code shown to the user to sign in the app (challenge-response only). */
  challenge?: string;
  expiresAt: number;
}

/**
 * Pending challenges one user (the account, `username`) may hold; a new one evicts their
 * oldest. Without it the store's global bound was the only one: one account's password was
 * enough to flood it and evict every other user's State mid-login.
 */
export const MAX_CHALLENGES_PER_USER = 5;

export type Redeem = { ok: true; challenge: PendingChallenge } | { ok: false; reason: "unknown" | "expired" | "mismatch" };

export class ChallengeStore {
  #pending = new Map<string, PendingChallenge>();
  /** State keys per user, oldest first. */
  #byUser = new Map<string, string[]>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs: number, max = 100_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  issue(c: Omit<PendingChallenge, "expiresAt">, now: number): Buffer {
    this.#sweep(now);
    const own = this.#byUser.get(c.username) ?? [];
    if (own.length >= MAX_CHALLENGES_PER_USER) this.#delete(own[0]!);
    if (this.#pending.size >= this.#max) {
      // Oldest first (Map keeps insertion order): bounded memory under a challenge flood.
      const oldest = this.#pending.keys().next().value;
      if (oldest !== undefined) this.#delete(oldest);
    }
    const state = randomBytes(16);
    const key = state.toString("hex");
    this.#pending.set(key, { ...c, expiresAt: now + this.#ttlMs });
    this.#byUser.set(c.username, [...(this.#byUser.get(c.username) ?? []), key]);
    return state;
  }

  /** Consumes the State: whatever the outcome, it cannot be presented again. */
  redeem(state: Buffer, user: string, source: string, now: number): Redeem {
    const key = state.toString("hex");
    const c = this.#pending.get(key);
    if (!c) return { ok: false, reason: "unknown" };
    this.#delete(key);
    if (now >= c.expiresAt) return { ok: false, reason: "expired" };
    if (!sameString(c.user, user) || c.source !== source) return { ok: false, reason: "mismatch" };
    return { ok: true, challenge: c };
  }

  get size(): number {
    return this.#pending.size;
  }

  #sweep(now: number): void {
    for (const [k, c] of this.#pending) if (c.expiresAt <= now) this.#delete(k);
  }

  #delete(key: string): void {
    const c = this.#pending.get(key);
    if (!c) return;
    this.#pending.delete(key);
    const rest = (this.#byUser.get(c.username) ?? []).filter((k) => k !== key);
    if (rest.length > 0) this.#byUser.set(c.username, rest);
    else this.#byUser.delete(c.username);
  }
}

function sameString(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
