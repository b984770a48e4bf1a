/**
 * Admission: whether this number may start another sign-in (its rate limits and its cap on
 * pending sessions), and the pending-session entries that the cap counts and that push
 * challenges hang on.
 */
import { admit, type RateLimits } from "../../../core/rate-limit";
import type { AdmitResult, PendingClaim } from "./contract";
import type { PendingEntry, SubscriberStore } from "./store";
import type { HostedPending } from "./hosted-pending";

export type PendingEntries = Record<string, PendingEntry>;

/** The entries still live at `now`: an entry lapses at `until` should its session never release it. */
export function livePending(entries: PendingEntries, now: number): PendingEntries {
  return Object.fromEntries(Object.entries(entries).filter(([, entry]) => entry.until > now));
}

/**
 * Whether the number has room under `cap`: approvals asked of it do not count, its own sign-ins
 * do, those with a stored entry and the `hosted` ones (hosted-pending.ts) each once.
 */
export function hasRoomFor(entries: PendingEntries, cap: number, hosted?: { count: number; holds(session: string): boolean }): boolean {
  const stored = Object.entries(entries).filter(([session, entry]) => !entry.approver && !hosted?.holds(session)).length;
  return stored + (hosted?.count ?? 0) < cap;
}

/** The entries with no challenge open: the device they were pushed to is gone. */
export function withoutChallenges(entries: PendingEntries): PendingEntries {
  return Object.fromEntries(Object.entries(entries).map(([session, { challengeId, ...entry }]) => [session, entry]));
}

/** The live pending entries as stored (lapsed ones are dropped from what is returned). */
export async function loadPending(store: SubscriberStore, now: number): Promise<PendingEntries> {
  return livePending((await store.get("pending")) ?? {}, now);
}

/** Rate limits and the pending cap. Writing methods run inside the object's #serial. */
export class Admission {
  readonly #store: SubscriberStore;

  constructor(store: SubscriberStore) {
    this.#store = store;
  }

  /**
   * Records an authentication attempt if the rate limits allow it and, when `pending` is
   * given, the number has fewer than `cap` sessions pending. Refusals record nothing. The
   * sessions this object hosts count from `hosted.index`; with `hosted.claim` the claimed one is
   * such a session, and goes there instead of in a stored entry (no write for it).
   */
  async admit(limits: RateLimits, pending?: PendingClaim, hosted?: { index: HostedPending; claim: boolean }): Promise<AdmitResult> {
    const now = Date.now();
    // With a pending claim both keys are needed: one read for the two.
    const stored = pending ? await this.#store.getAll(["rate", "pending"]) : { rate: await this.#store.get("rate"), pending: undefined };
    const decision = admit(stored.rate ?? [], limits, now);
    if (!decision.allowed) {
      await this.#store.put("rate", decision.history);
      return { allowed: false, reason: "rate_limited", retryAfterMs: decision.retryAfterMs };
    }
    if (!pending) {
      await this.#store.put("rate", decision.history);
      return { allowed: true, retryAfterMs: 0 };
    }
    const entries = livePending(stored.pending ?? {}, now);
    const index = hosted?.index;
    const room = hasRoomFor(entries, pending.cap, index && { count: index.live(now), holds: (s) => index.holds(s) });
    if (!room) return { allowed: false, reason: "too_many_pending" };
    if (index && hosted.claim) {
      index.add(pending.session, { until: pending.until });
      await this.#store.put("rate", decision.history);
    } else {
      entries[pending.session] = { until: pending.until };
      await this.#store.putAll({ rate: decision.history, pending: entries });
    }
    return { allowed: true, retryAfterMs: 0 };
  }

  /** A session ended (or never started): it no longer counts against the cap. Answers its entry, if any. */
  async release(session: string): Promise<PendingEntry | null> {
    const entries = await loadPending(this.#store, Date.now());
    const entry = entries[session];
    if (!entry) return null;
    delete entries[session];
    await this.#store.put("pending", entries);
    return entry;
  }

  /** Sessions of this number pending (its own sign-ins, hosted or not, and approvals asked of it). A read. */
  async pendingCount(hosted?: HostedPending): Promise<number> {
    const now = Date.now();
    const stored = Object.keys(await loadPending(this.#store, now)).filter((session) => !hosted?.holds(session)).length;
    return stored + (hosted?.live(now) ?? 0);
  }
}
