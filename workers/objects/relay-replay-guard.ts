import { DurableObject } from "cloudflare:workers";

/**
 * Remembers the `jti` of every relay token the edge accepted until the token expires, so a
 * captured token cannot be replayed within its lifetime. One object per relay and jti-hash
 * shard (see workers/lib/relay-auth.ts), so no object is hot for all relays. Entries are
 * deleted by an alarm once expired.
 */
export class RelayReplayGuard extends DurableObject<Env> {
  /** True the first time this jti is seen (and records it until `expiresAt`), false after. */
  async claim(jti: string, expiresAt: number): Promise<boolean> {
    // No await between the read and the write but storage calls: the input gate keeps any
    // other call out, so two copies of one token cannot both pass.
    const key = `j:${jti}`;
    if ((await this.ctx.storage.get<number>(key)) !== undefined) return false;
    await this.ctx.storage.put(key, expiresAt);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(expiresAt + 1000);
    return true;
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const all = await this.ctx.storage.list<number>({ prefix: "j:" });
    const expired = [...all].filter(([, exp]) => exp <= now).map(([k]) => k);
    for (let i = 0; i < expired.length; i += 128) await this.ctx.storage.delete(expired.slice(i, i + 128));
    const next = Math.min(...[...all.values()].filter((exp) => exp > now));
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next + 1000);
  }
}
