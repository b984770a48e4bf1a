/** A small map whose entries lapse after `ttlMs` (clock injected for tests). */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; until: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #max: number;

  constructor(ttlMs: number, opts: { now?: () => number; max?: number } = {}) {
    this.#ttlMs = ttlMs;
    this.#now = opts.now ?? Date.now;
    this.#max = opts.max ?? 256;
  }

  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.until <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V): void {
    if (this.#ttlMs <= 0) return;
    // Oldest first out: a Map iterates in insertion order.
    if (!this.#entries.has(key) && this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, until: this.#now() + this.#ttlMs });
  }
}
