import { DurableObject } from "cloudflare:workers";

/** An endpoint's share of pending sessions, as far as this shard counts it. */
export interface LeaseGroup {
  name: string;
  /** This shard's part of the share. */
  capacity: number;
}

interface Lease {
  until: number;
  group?: string;
}

/**
 * One shard of the global pending-session budget. Each pending session holds a lease in one
 * randomly chosen shard; a lease expires on its own (session deadline plus margin), so a
 * session that dies without releasing can never leak capacity for long. A lease may also
 * count against its endpoint's share (workers/domain/overload.ts).
 */
export class LoadShard extends DurableObject<Env> {
  #leases = new Map<string, Lease>();
  /** When this instance last set the alarm (null: none set; undefined: not known yet, ask storage). */
  #alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      // A lease was stored as its expiry alone before endpoint shares existed.
      const stored = await ctx.storage.list<number | Lease>({ prefix: "lease:" });
      for (const [k, value] of stored) this.#leases.set(k.slice(6), typeof value === "number" ? { until: value } : value);
    });
  }

  /**
   * Takes a lease unless this shard already holds `capacity` live leases. `releasing`: leases
   * of sessions that ended, given back first in the same call (workers/domain/lease-releases.ts),
   * whatever the answer; a slot they free counts for this lease.
   */
  async acquire(sessionId: string, until: number, capacity: number, releasing: string[] = []): Promise<boolean> {
    await this.#drop(releasing);
    await this.#purge(Date.now());
    if (this.#leases.size >= capacity) return false;
    await this.#take(sessionId, { until });
    return true;
  }

  /** acquire(), and also within the group's part of its share: "full" is the global budget, "group_full" the share. */
  async acquireInGroup(
    sessionId: string,
    until: number,
    capacity: number,
    group: LeaseGroup,
    releasing: string[] = [],
  ): Promise<"ok" | "full" | "group_full"> {
    await this.#drop(releasing);
    await this.#purge(Date.now());
    if (this.#leases.size >= capacity) return "full";
    let inGroup = 0;
    for (const lease of this.#leases.values()) if (lease.group === group.name) inGroup++;
    if (inGroup >= group.capacity) return "group_full";
    await this.#take(sessionId, { until, group: group.name });
    return "ok";
  }

  async release(sessionId: string): Promise<void> {
    await this.#drop([sessionId]);
  }

  /** Gives back several leases in one call (those no acquire carried in time). */
  async releaseAll(sessionIds: string[]): Promise<void> {
    await this.#drop(sessionIds);
  }

  async pending(): Promise<number> {
    await this.#purge(Date.now());
    return this.#leases.size;
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null; // the alarm that fired is spent
    await this.#purge(Date.now());
    await this.#scheduleCleanup();
  }

  async #take(sessionId: string, lease: Lease): Promise<void> {
    this.#leases.set(sessionId, lease);
    await this.ctx.storage.put(`lease:${sessionId}`, lease);
    await this.#scheduleCleanup();
  }

  async #purge(now: number): Promise<void> {
    const expired: string[] = [];
    for (const [id, lease] of this.#leases) if (lease.until <= now) expired.push(id);
    await this.#drop(expired);
  }

  /** Forgets these leases (those it holds; a lease given back twice is gone once). */
  async #drop(sessionIds: string[]): Promise<void> {
    const held = sessionIds.filter((id) => this.#leases.delete(id));
    // storage.delete takes at most 128 keys per call.
    for (let i = 0; i < held.length; i += 128) {
      await this.ctx.storage.delete(held.slice(i, i + 128).map((id) => `lease:${id}`));
    }
  }

  /** Keeps storage from holding expired leases of a shard that goes quiet. */
  async #scheduleCleanup(): Promise<void> {
    if (this.#leases.size === 0) {
      this.#alarmAt = null;
      return void (await this.ctx.storage.deleteAlarm());
    }
    let next = Number.POSITIVE_INFINITY;
    for (const lease of this.#leases.values()) next = Math.min(next, lease.until);
    // Read from storage once per instance, then known: a take need not read it each time.
    if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
    if (this.#alarmAt === null || this.#alarmAt > next) {
      this.#alarmAt = next; // before the await: storage calls apply in order, the last one wins
      await this.ctx.storage.setAlarm(next);
    }
  }
}
