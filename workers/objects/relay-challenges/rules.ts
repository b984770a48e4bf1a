import { sameNas } from "../../../core/contracts/relay-challenge";
import type { RedeemAsk, RedeemResult, StoredChallenge } from "./contract";

/**
 * The object's rules without I/O: which entries go before a new one is stored (expired ones,
 * then the oldest beyond the per-user cap), whether a presented State may be answered, and
 * when the next expiry is due.
 */
export function evictions(entries: ReadonlyArray<[string, StoredChallenge]>, now: number, max: number): string[] {
  const live = entries.filter(([, c]) => c.expiresAt > now).sort(([, a], [, b]) => a.seq - b.seq);
  const expired = entries.filter(([, c]) => c.expiresAt <= now).map(([k]) => k);
  // Room for the one about to be stored.
  const over = Math.max(0, live.length - (max - 1));
  return [...expired, ...live.slice(0, over).map(([k]) => k)];
}

/** A stored challenge presented again: answerable only before expiry, by the same site, User-Name and NAS. */
export function judgeRedeem(c: StoredChallenge, ask: RedeemAsk, now: number): RedeemResult {
  if (now >= c.expiresAt) return { ok: false, reason: "expired" };
  if (c.site !== ask.site || c.user !== ask.user || !sameNas(c.nas, ask.nas)) return { ok: false, reason: "mismatch" };
  return { ok: true, challenge: c };
}

/** The earliest expiry among the entries, or null when none is left. */
export function nextExpiry(entries: Iterable<StoredChallenge>): number | null {
  let next: number | null = null;
  for (const c of entries) if (next === null || c.expiresAt < next) next = c.expiresAt;
  return next;
}

/** The next issue number: after every stored one. */
export function nextSeq(entries: Iterable<StoredChallenge>): number {
  let max = 0;
  for (const c of entries) max = Math.max(max, c.seq);
  return max + 1;
}
