import { log } from "../lib/log";
import { objectStub } from "../lib/durable-objects";

/**
 * Overload leases given back by the calls that waited on their sessions. A session that ends
 * while a blocking call waits on it hands its lease to that call with the outcome
 * (session/run-effects.ts), so the session's object makes no call to the shard. The waiting
 * call queues the release here, and it rides on this isolate's next lease taken from the same
 * shard (acquireLease, overload.ts): one call to the shard per authentication instead of two.
 * What no lease carries within RELEASE_FLUSH_MS goes on its own (releaseAll, one call for all
 * of that shard's).
 *
 * No request waits on another's I/O (Workers forbids it): the request that opens a shard's
 * queue keeps its timer (its waitUntil) and sends what is still queued when it fires; a request
 * whose acquire takes the queue sends it with that call, in its own context, and again on its
 * own if that call fails (giving a lease back twice is harmless). A release lost all the same
 * (the isolate gone first) lapses at its session's deadline plus a margin, as any lost release
 * does: a cap that counts a finished session a while longer, never one that admits more.
 */
export const RELEASE_FLUSH_MS = 50;

/** A shard's queued releases; the object's identity says whose timer still owns them. */
interface ShardQueue {
  ids: string[];
}

/** Releases a lease taken from `shard` carries: hand `carry` the acquire call that carries them. */
export interface CarriedReleases {
  readonly shard: string;
  readonly ids: readonly string[];
  carry(call: Promise<unknown>): void;
}

// Per env object (one per isolate): releases only ever go to the shards of the env they came from.
const queues = new WeakMap<Env, Map<string, ShardQueue>>();

function queuesOf(env: Env): Map<string, ShardQueue> {
  let byShard = queues.get(env);
  if (!byShard) {
    byShard = new Map();
    queues.set(env, byShard);
  }
  return byShard;
}

/**
 * Queues the release of `sessionId`'s lease in `shard`. The promise is for the caller's
 * waitUntil: when this call opened the shard's queue, it settles once what no lease took in
 * RELEASE_FLUSH_MS has been sent; otherwise at once (the queue's opener sends it).
 */
export function queueRelease(env: Env, shard: string, sessionId: string): Promise<void> {
  const byShard = queuesOf(env);
  const queued = byShard.get(shard);
  if (queued) {
    queued.ids.push(sessionId);
    return Promise.resolve();
  }
  const queue: ShardQueue = { ids: [sessionId] };
  byShard.set(shard, queue);
  return new Promise((resolve) => setTimeout(resolve, RELEASE_FLUSH_MS)).then(async () => {
    if (byShard.get(shard) !== queue) return; // an acquire took them
    byShard.delete(shard);
    await objectStub(env, "LOAD_SHARD", shard).releaseAll(queue.ids);
  });
}

/**
 * Takes the releases queued for one shard (the oldest queue among the shards `allowed`
 * accepts) for an acquire to carry, or null when there are none.
 */
export function takeReleases(env: Env, allowed: (shard: string) => boolean = () => true): CarriedReleases | null {
  const byShard = queues.get(env);
  if (!byShard) return null;
  for (const [shard, queue] of byShard) {
    if (!allowed(shard)) continue;
    byShard.delete(shard);
    return {
      shard,
      ids: queue.ids,
      carry: (call) => {
        call
          .catch(() => objectStub(env, "LOAD_SHARD", shard).releaseAll(queue.ids))
          .catch((e: unknown) => log.warn("release_failed", { note: "expires on its own", error: String(e) }));
      },
    };
  }
  return null;
}
