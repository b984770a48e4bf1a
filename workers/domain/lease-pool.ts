import { queueRelease } from "./lease-releases";

/**
 * Overload leases between sessions (docs/decisions/0024): a lease its session handed to the
 * call that waited on it (decision 23) waits here up to LEASE_IDLE_MS for this isolate's next
 * session, which takes it over instead of asking a shard for one; only a lease nobody took goes
 * back (lease-releases.ts). Under a steady stream of sign-ins an isolate thus calls a shard
 * once per LEASE_REUSE_MS or so per slot it keeps busy, not once per authentication.
 *
 * A lease is taken for its first session's deadline plus the margin plus LEASE_REUSE_MS, and a
 * later session may take it over only if its own deadline plus the margin falls within that
 * (`until`): every session runs under a lease that lasts past its deadline, as before, and a
 * lease lost with its isolate lapses at most LEASE_REUSE_MS later than a session's own would
 * have. A lease counts against its shard (and its endpoint's share) from the first take to the
 * last release, idle here or not: the cap is never exceeded, a slot is at most held
 * LEASE_IDLE_MS longer. A lease is only ever taken over for the same endpoint share (`group`)
 * it was counted in, and only by one session: taking it removes it from the pool.
 *
 * No request waits on another's I/O: the call that pools a lease keeps its timer (its
 * waitUntil) and gives the lease back when it fires, in its own context, if it is still here.
 */
export const LEASE_IDLE_MS = 50;
export const LEASE_REUSE_MS = 60_000;

/** A lease held in one shard: its id there (its first session's), expiry and endpoint share. */
export interface HeldLease {
  shard: string;
  id: string;
  until: number;
  /** The endpoint share it counts in, or null for the global budget only. */
  group: string | null;
  /**
   * That share's size (the endpoint's maxPending) when the lease was counted in it: an
   * endpoint's settings may change while the isolate lives (D1 endpoints), and a lease counted
   * under another share serves no session (the shard checks the new share on a new lease).
   */
  share?: number;
}

// Per env object (one per isolate), as lease-releases.ts's queues.
const pools = new WeakMap<Env, Set<HeldLease>>();

function poolOf(env: Env): Set<HeldLease> {
  let pool = pools.get(env);
  if (!pool) {
    pool = new Set();
    pools.set(env, pool);
  }
  return pool;
}

/**
 * Keeps `lease` (its session ended, the lease handed to this call) for the next session. The
 * promise is for the caller's waitUntil: it settles when the lease was taken over or given back.
 */
export function poolLease(env: Env, lease: HeldLease): Promise<void> {
  const pool = poolOf(env);
  pool.add(lease);
  return new Promise((resolve) => setTimeout(resolve, LEASE_IDLE_MS)).then(() => {
    if (!pool.delete(lease)) return; // a session took it over
    return queueRelease(env, lease.shard, lease.id);
  });
}

/**
 * Takes over a pooled lease for a session that needs one lasting to `until`, in `group`, one
 * `allowed` accepts (its shard, its share's size): the one that lasts least among those that
 * last long enough (longer ones stay for longer sessions). Null when there is none.
 */
export function takePooledLease(
  env: Env,
  until: number,
  group: string | null,
  allowed: (lease: HeldLease) => boolean = () => true,
): HeldLease | null {
  const pool = pools.get(env);
  if (!pool) return null;
  let best: HeldLease | null = null;
  for (const lease of pool) {
    if (lease.group !== group || lease.until < until || !allowed(lease)) continue;
    if (best === null || lease.until < best.until) best = lease;
  }
  if (best) pool.delete(best);
  return best;
}
