/** What callers of a RelayChallenges object get and give: its RPC arguments and results. */
import type { ChallengeMethod, NasIdentity } from "../../../core/contracts/relay-challenge";

/** A pending Access-Challenge as the object keeps it (under the SHA-256 of its State). */
export interface StoredChallenge {
  /** The site of the relay that issued it: only relays of this site may redeem it. */
  site: string;
  /** The relay that issued it (for logs). */
  relay: string;
  /** The User-Name exactly as the NAS sent it. */
  user: string;
  /** The normalised account: the user's key at the edge (its pin, its factors). */
  username: string;
  msisdn: string;
  method: ChallengeMethod;
  challengeId?: string;
  challenge?: string;
  nas: NasIdentity;
  issuedAt: number;
  expiresAt: number;
  /** Issue order within the object: the oldest is evicted first. */
  seq: number;
}

export type NewChallenge = Omit<StoredChallenge, "issuedAt" | "expiresAt" | "seq"> & { ttlMs: number };

/** Who presents a State: the caller relay's site, the User-Name and the NAS of the answer. */
export interface RedeemAsk {
  site: string;
  user: string;
  nas: NasIdentity;
}

export type RedeemResult = { ok: true; challenge: StoredChallenge } | { ok: false; reason: "unknown" | "expired" | "mismatch" };
