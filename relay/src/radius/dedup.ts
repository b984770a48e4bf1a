/**
 * Retransmission handling as FreeRADIUS and Duo's proxy do it. A request is identified by
 * (source address, source port, RADIUS identifier, request authenticator):
 *  - same key while the first copy is still being processed: drop the duplicate;
 *  - same key after a reply was sent: resend the cached reply (the NAS lost ours);
 *  - same (source, port, id) but a different authenticator: a new request that reuses the
 *    identifier; it replaces the old one, whose late reply is then discarded.
 */
export type Admission = { kind: "new"; ticket: number } | { kind: "in_flight" } | { kind: "cached"; reply: Buffer };

interface Entry {
  authenticator: string;
  ticket: number;
  reply?: Buffer;
  expiresAt: number;
}

export class RetransmitCache {
  #entries = new Map<string, Entry>();
  #nextTicket = 1;
  #lastSweep = 0;
  readonly #replyTtlMs: number;
  readonly #inFlightTtlMs: number;

  constructor(replyTtlMs: number, inFlightTtlMs: number) {
    this.#replyTtlMs = replyTtlMs;
    this.#inFlightTtlMs = inFlightTtlMs;
  }

  admit(source: string, identifier: number, authenticator: Buffer, now: number): Admission {
    this.#sweep(now);
    const key = `${source}#${identifier}`;
    const auth = authenticator.toString("hex");
    const existing = this.#entries.get(key);
    if (existing && existing.authenticator === auth) {
      return existing.reply ? { kind: "cached", reply: existing.reply } : { kind: "in_flight" };
    }
    const ticket = this.#nextTicket++;
    this.#entries.set(key, { authenticator: auth, ticket, expiresAt: now + this.#inFlightTtlMs });
    return { kind: "new", ticket };
  }

  /**
   * Records the reply; false if the request was superseded meanwhile (then do not send).
   * The cache keeps its own copy, in memory of its own: a reply is a small slice of Node's
   * shared 8 KiB Buffer pool, and a slice held for the reply TTL kept its whole pool chunk
   * alive. Up to 256 entries per NAS port, each pinning a chunk, were promoted to the old
   * generation and freed there: single logins one after another (~1,800 a second) saw a full
   * mark-compact every ~2 s (a 2-5 ms pause, plus marking), gone with the copy
   * (docs/benchmarks.md, relay section, seventh round).
   */
  complete(source: string, identifier: number, ticket: number, reply: Buffer, now: number): boolean {
    const entry = this.#entries.get(`${source}#${identifier}`);
    if (!entry || entry.ticket !== ticket) return false;
    const own = Buffer.allocUnsafeSlow(reply.length);
    reply.copy(own);
    entry.reply = own;
    entry.expiresAt = now + this.#replyTtlMs;
    return true;
  }

  /** Forgets a request that got no reply (dropped), so a retransmission is processed anew. */
  abandon(source: string, identifier: number, ticket: number): void {
    const key = `${source}#${identifier}`;
    if (this.#entries.get(key)?.ticket === ticket) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** At most once a second: a full scan per packet would cost O(n) under load. */
  #sweep(now: number): void {
    if (now - this.#lastSweep < 1000) return;
    this.#lastSweep = now;
    for (const [k, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(k);
  }
}
