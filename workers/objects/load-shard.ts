import { DurableObject } from "cloudflare:workers";

/**
 * One shard of the global pending-session budget. Each pending session holds a lease in one
 * randomly chosen shard; a lease expires on its own (session deadline plus margin), so a
 * session that dies without releasing can never leak capacity for long.
 */
export class LoadShard extends DurableObject<Env> {
  #leases = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list<number>({ prefix: "lease:" });
      for (const [k, until] of stored) this.#leases.set(k.slice(6), until);
    });
  }

  /** Takes a lease unless this shard already holds `capacity` live leases. */
  async acquire(sessionId: string, until: number, capacity: number): Promise<boolean> {
    await this.#purge(Date.now());
    if (this.#leases.size >= capacity) return false;
    this.#leases.set(sessionId, until);
    await this.ctx.storage.put(`lease:${sessionId}`, until);
    await this.#scheduleCleanup();
    return true;
  }

  async release(sessionId: string): Promise<void> {
    if (this.#leases.delete(sessionId)) await this.ctx.storage.delete(`lease:${sessionId}`);
  }

  async pending(): Promise<number> {
    await this.#purge(Date.now());
    return this.#leases.size;
  }

  override async alarm(): Promise<void> {
    await this.#purge(Date.now());
    await this.#scheduleCleanup();
  }

  async #purge(now: number): Promise<void> {
    const expired = [...this.#leases].filter(([, until]) => until <= now).map(([id]) => id);
    if (expired.length === 0) return;
    for (const id of expired) this.#leases.delete(id);
    // storage.delete takes at most 128 keys per call.
    for (let i = 0; i < expired.length; i += 128) {
      await this.ctx.storage.delete(expired.slice(i, i + 128).map((id) => `lease:${id}`));
    }
  }

  /** Keeps storage from holding expired leases of a shard that goes quiet. */
  async #scheduleCleanup(): Promise<void> {
    if (this.#leases.size === 0) return void (await this.ctx.storage.deleteAlarm());
    const next = Math.min(...this.#leases.values());
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
  }
}
