import { objectStub } from "../lib/durable-objects";
import type { LeaseGroup } from "../objects/load-shard";
import { type CarriedReleases, takeReleases } from "./lease-releases";
import { type HeldLease, LEASE_REUSE_MS, takePooledLease } from "./lease-pool";

/**
 * Overload protection without a global hot object: the pending-session budget is split over
 * `shards` LoadShard objects. A session tries two random shards ("power of two choices"),
 * which keeps shards evenly filled, so the effective cap stays close to maxPending while no
 * single object sees every request.
 *
 * An endpoint may also have a share of its own (`maxPending` in its settings), so one tenant's
 * flood cannot take every slot. Its leases go to a run of k consecutive shards (from a hash of
 * its name), each counting the endpoint's leases against a part of the share; the parts add up
 * to the share exactly. k grows with the share (ENDPOINT_LEASES_PER_SHARD per shard), so a big
 * tenant is spread as widely as the global budget and a small one sits on one or two objects.
 */
export interface OverloadSettings {
  maxPending: number;
  shards: number;
}

/** About this many of one endpoint's leases per shard before its share is spread over another. */
export const ENDPOINT_LEASES_PER_SHARD = 16;

export function shardCapacity(s: OverloadSettings): number {
  return Math.ceil(s.maxPending / s.shards);
}

/** Two distinct shard names to try, in order (one when there is a single shard). */
export function pickShards(s: OverloadSettings, random: () => number = Math.random): string[] {
  const [a, b] = twoOf(s.shards, random);
  return b === undefined ? [`shard-${a}`] : [`shard-${a}`, `shard-${b}`];
}

/** The shards an endpoint's share lives on, each with its part of the share (parts sum to `maxPending`). */
export function endpointShards(s: OverloadSettings, endpoint: string, maxPending: number): Array<{ shard: string; capacity: number }> {
  const k = Math.max(1, Math.min(s.shards, Math.ceil(maxPending / ENDPOINT_LEASES_PER_SHARD)));
  const start = fnv1a(endpoint) % s.shards;
  const base = Math.floor(maxPending / k);
  const extra = maxPending % k;
  return Array.from({ length: k }, (_, j) => ({ shard: `shard-${(start + j) % s.shards}`, capacity: base + (j < extra ? 1 : 0) }));
}

/** One index in [0, n), or two distinct ones. */
function twoOf(n: number, random: () => number): [number, number?] {
  const a = Math.floor(random() * n);
  if (n === 1) return [a];
  return [a, (a + 1 + Math.floor(random() * (n - 1))) % n];
}

/** FNV-1a, 32 bits: a stable spread of endpoint names over shards (not a security boundary). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The two tries, `first` (when given) before the others, still at most two. */
function withFirst<T>(first: T | undefined, picks: T[]): T[] {
  if (first === undefined) return picks;
  const other = picks.find((p) => p !== first);
  return other === undefined ? [first] : [first, other];
}

/**
 * A lease for a session that needs one lasting to `until`: one this isolate holds between
 * sessions when one fits (lease-pool.ts, no call), else a new one for `sessionId` in one of two
 * shards, within the global budget and, when the endpoint has a share, within that too, taken
 * for LEASE_REUSE_MS longer so that later sessions can take it over. The lease, or why not.
 * When this isolate has leases to give back to a shard the call may use (lease-releases.ts),
 * that shard is tried first and its first call carries them, refused or not.
 */
export async function acquireLease(
  env: Env,
  s: OverloadSettings,
  sessionId: string,
  until: number,
  endpoint?: { name: string; maxPending?: number | undefined },
  random: () => number = Math.random,
): Promise<HeldLease | { refused: "overloaded" | "endpoint_overloaded" }> {
  const capacity = shardCapacity(s);
  const share = endpoint?.maxPending;
  const taken = until + LEASE_REUSE_MS;
  if (endpoint === undefined || share === undefined) {
    const pooled = takePooledLease(env, until, null);
    if (pooled) return pooled;
    const carried = takeReleases(env);
    for (const shard of withFirst(carried?.shard, pickShards(s, random))) {
      const releasing = carriedBy(carried, shard);
      const call = objectStub(env, "LOAD_SHARD", shard).acquire(sessionId, taken, capacity, releasing);
      if (releasing.length) carried?.carry(call);
      if (await call) return { shard, id: sessionId, until: taken, group: null };
    }
    return { refused: "overloaded" };
  }
  const parts = endpointShards(s, endpoint.name, share);
  const inShare = (shard: string) => parts.some((p) => p.shard === shard);
  // Only a lease counted under this very share: a share cut since must not be outrun by leases kept from before.
  const pooled = takePooledLease(env, until, endpoint.name, (l) => l.share === share && inShare(l.shard));
  if (pooled) return pooled;
  const carried = takeReleases(env, inShare);
  const [a, b] = twoOf(parts.length, random);
  const carriedPart = carried ? parts.findIndex((p) => p.shard === carried.shard) : -1;
  let refused: "overloaded" | "endpoint_overloaded" = "endpoint_overloaded";
  for (const index of withFirst(carriedPart < 0 ? undefined : carriedPart, b === undefined ? [a] : [a, b])) {
    const part = parts[index];
    if (!part) continue;
    const group: LeaseGroup = { name: endpoint.name, capacity: part.capacity };
    const releasing = carriedBy(carried, part.shard);
    const call = objectStub(env, "LOAD_SHARD", part.shard).acquireInGroup(sessionId, taken, capacity, group, releasing);
    if (releasing.length) carried?.carry(call);
    const answer = await call;
    if (answer === "ok") return { shard: part.shard, id: sessionId, until: taken, group: endpoint.name, share };
    if (answer === "full") refused = "overloaded"; // the global budget, not the endpoint's share
  }
  return { refused };
}

/** The releases a call to `shard` carries (the tries name a shard once: withFirst). */
function carriedBy(carried: CarriedReleases | null, shard: string): string[] {
  return carried && carried.shard === shard ? [...carried.ids] : [];
}

/** Gives a lease back (a session that ended, or a call refused after its lease was taken). */
export function releaseLease(env: Env, lease: Pick<HeldLease, "shard" | "id">): Promise<void> {
  return objectStub(env, "LOAD_SHARD", lease.shard).release(lease.id);
}
