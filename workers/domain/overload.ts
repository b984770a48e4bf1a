import { objectStub } from "../lib/durable-objects";

/**
 * Overload protection without a global hot object: the pending-session budget is split over
 * `shards` LoadShard objects. A session tries two random shards ("power of two choices"),
 * which keeps shards evenly filled, so the effective cap stays close to maxPending while no
 * single object sees every request.
 */
export interface OverloadSettings {
  maxPending: number;
  shards: number;
}

export function shardCapacity(s: OverloadSettings): number {
  return Math.ceil(s.maxPending / s.shards);
}

/** Two distinct shard names to try, in order (one when there is a single shard). */
export function pickShards(s: OverloadSettings, random: () => number = Math.random): string[] {
  const a = Math.floor(random() * s.shards);
  if (s.shards === 1) return [`shard-0`];
  const b = (a + 1 + Math.floor(random() * (s.shards - 1))) % s.shards;
  return [`shard-${a}`, `shard-${b}`];
}

export async function acquireLease(env: Env, s: OverloadSettings, sessionId: string, until: number): Promise<string | null> {
  const capacity = shardCapacity(s);
  for (const shard of pickShards(s)) {
    if (await objectStub(env, "LOAD_SHARD", shard).acquire(sessionId, until, capacity)) return shard;
  }
  return null;
}
