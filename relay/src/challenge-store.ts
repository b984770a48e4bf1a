import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  EDGE_STATE_BYTES,
  LOCAL_STATE_BYTES,
  MAX_CHALLENGES_PER_USER,
  nasKey,
  type ChallengeMethod,
  type NasIdentity,
} from "../../core/contracts/relay-challenge.ts";
import { EdgeRejectedError, EdgeUnavailableError, type EdgeChallengeApi } from "./edge-client.ts";

export { MAX_CHALLENGES_PER_USER, type ChallengeMethod };

/**
 * What a relay challenges for: the edge's methods, plus its own local TOTP tokens, whose
 * challenges never leave this process (checking them needs no edge, so neither may keeping them).
 */
export type RelayChallengeMethod = ChallengeMethod | "local-totp";

/**
 * Pending Access-Challenges. The RADIUS State we hand out is random (at least 128 bits),
 * single use, and bound to the User-Name and the NAS it was issued to: a State replayed from
 * elsewhere, for another user, or a second time is refused.
 *
 * Two stores: EdgeChallengeStore keeps them at the edge, shared by the relays of a site (a
 * NAS that fails over mid-login answers on the other relay); LocalChallengeStore keeps them in
 * this process, only for local TOTP challenges, which this relay checks against its own
 * token store without the edge (an air-gapped site has none).
 */
export interface NewChallenge {
  /** The User-Name as the NAS sent it (the answer must carry the same). */
  user: string;
  /** The user's key at the edge (normalised account name): what the code is checked for. */
  username: string;
  nas: NasIdentity;
  /** The number the edge checks the code for ("" for local-totp: no phone, no edge). */
  msisdn: string;
  method: RelayChallengeMethod;
  /** Edge-side SMS OTP challenge id (sms only). */
  challengeId?: string;
  /** The code shown to the user to sign in the app (challenge-response only). */
  challenge?: string;
}

/** What answering a challenge needs. */
export type AnswerableChallenge = Pick<NewChallenge, "username" | "msisdn" | "method" | "challengeId" | "challenge">;

export type RedeemRefusal = "unknown" | "expired" | "mismatch" | "edge_unavailable" | "edge_refused";
export type Redeem = { ok: true; challenge: AnswerableChallenge } | { ok: false; reason: RedeemRefusal };

export interface ChallengeStore {
  /** Keeps the challenge; the State for the Access-Challenge. Throws the edge's errors (fail mode applies). */
  issue(c: NewChallenge, now: number): Promise<Buffer>;
  /** Consumes the State: whatever the outcome, it cannot be presented again. Never throws for the edge. */
  redeem(state: Buffer, user: string, nas: NasIdentity, now: number): Promise<Redeem>;
  /** Challenges held in this process (a metric: the edge's are counted there). */
  readonly size: number;
}

/** The pending challenges of this process. */
interface PendingChallenge extends AnswerableChallenge {
  user: string;
  /** nasKey() of the NAS it was issued to. */
  source: string;
  expiresAt: number;
}

/**
 * In this process only. Per user (the account, `username`) at most MAX_CHALLENGES_PER_USER; a
 * new one evicts their oldest. Without it the store's global bound was the only one: one
 * account's password was enough to flood it and evict every other user's State mid-login.
 */
export class LocalChallengeStore implements ChallengeStore {
  #pending = new Map<string, PendingChallenge>();
  /** State keys per user, oldest first. */
  #byUser = new Map<string, string[]>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs: number, max = 100_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  async issue(c: NewChallenge, now: number): Promise<Buffer> {
    this.#sweep(now);
    const own = this.#byUser.get(c.username) ?? [];
    const oldestOwn = own[0];
    if (own.length >= MAX_CHALLENGES_PER_USER && oldestOwn !== undefined) this.#delete(oldestOwn);
    if (this.#pending.size >= this.#max) {
      // Oldest first (Map keeps insertion order): bounded memory under a challenge flood.
      const oldest = this.#pending.keys().next().value;
      if (oldest !== undefined) this.#delete(oldest);
    }
    const state = randomBytes(LOCAL_STATE_BYTES);
    const key = state.toString("hex");
    const { nas, ...rest } = c;
    this.#pending.set(key, { ...rest, source: nasKey(nas), expiresAt: now + this.#ttlMs });
    this.#byUser.set(c.username, [...(this.#byUser.get(c.username) ?? []), key]);
    return state;
  }

  async redeem(state: Buffer, user: string, nas: NasIdentity, now: number): Promise<Redeem> {
    const key = state.toString("hex");
    const c = this.#pending.get(key);
    if (!c) return { ok: false, reason: "unknown" };
    this.#delete(key);
    if (now >= c.expiresAt) return { ok: false, reason: "expired" };
    if (!sameString(c.user, user) || c.source !== nasKey(nas)) return { ok: false, reason: "mismatch" };
    const { user: _u, source: _s, expiresAt: _e, ...challenge } = c;
    return { ok: true, challenge };
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

/**
 * At the edge (relay API challengeIssue / challengeRedeem): any relay of the site redeems
 * what another issued. The State's length says where it lives: EDGE_STATE_BYTES at the
 * edge, LOCAL_STATE_BYTES in `local` (local TOTP challenges, never sent to the edge).
 */
export class EdgeChallengeStore implements ChallengeStore {
  readonly #edge: EdgeChallengeApi;
  readonly #ttlSeconds: number;
  readonly #local: LocalChallengeStore;

  constructor(edge: EdgeChallengeApi, ttlSeconds: number, local = new LocalChallengeStore(ttlSeconds * 1000)) {
    this.#edge = edge;
    this.#ttlSeconds = ttlSeconds;
    this.#local = local;
  }

  async issue(c: NewChallenge, now: number): Promise<Buffer> {
    const method = c.method;
    if (method === "local-totp") return this.#local.issue(c, now);
    return Buffer.from(await this.#edge.issueChallenge({ ...c, method, ttlSeconds: this.#ttlSeconds }), "hex");
  }

  get size(): number {
    return this.#local.size;
  }

  async redeem(state: Buffer, user: string, nas: NasIdentity, now: number): Promise<Redeem> {
    if (state.length === LOCAL_STATE_BYTES) return this.#local.redeem(state, user, nas, now);
    if (state.length !== EDGE_STATE_BYTES) return { ok: false, reason: "unknown" };
    try {
      const r = await this.#edge.redeemChallenge({ state: state.toString("hex"), user, nas });
      return r.result === "ok" ? { ok: true, challenge: r.challenge } : { ok: false, reason: r.result };
    } catch (e) {
      // Never the fail mode here: without the edge nothing says this State passed a first factor.
      if (e instanceof EdgeUnavailableError) return { ok: false, reason: "edge_unavailable" };
      if (e instanceof EdgeRejectedError) return { ok: false, reason: "edge_refused" };
      throw e;
    }
  }
}

function sameString(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
