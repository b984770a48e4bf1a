/**
 * Work a shutdown waits for (requests being handled, replies handed to a socket), counted
 * rather than kept: per packet a counter costs no promise, closure or set entry, which a relay
 * under load makes and collects tens of thousands of times a second.
 */
export class InFlight {
  #count = 0;
  #idle: Array<() => void> = [];

  get size(): number {
    return this.#count;
  }

  /** One more piece of work; the function it answers ends it (a second call does nothing). */
  begin(): () => void {
    this.#count++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.#count === 0) for (const resolve of this.#idle.splice(0)) resolve();
    };
  }

  /** Resolves when nothing is in flight (at once if nothing is). */
  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }
}
