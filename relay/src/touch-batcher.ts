/**
 * Gathers the Touch logins asked for in one event-loop round into one edge call
 * (TOUCH_BATCH in core/contracts/relay-api.ts): under load the relay's CPU per login is mostly
 * its edge call (a signed token, an HTTP request), so several logins per call cost less each.
 * Pure of HTTP: it is given how to send one login and how to send several.
 *
 * A login waits at most until the round ends (setImmediate), or none at all when the queue
 * reaches `max`. A flush of one login goes as a single call, exactly as without batching.
 */
export interface TouchBatcherOptions<L, R> {
  /** The most logins in one call; 1 sends every login alone, at once. */
  max: number;
  sendOne: (login: L) => Promise<R>;
  /** One call for all of `logins` (2 to `max`): an answer for each, in their order. */
  sendBatch: (logins: L[]) => Array<Promise<R>>;
  /**
   * A login that must go alone whatever the round: one the edge would refuse would refuse the
   * whole batch, so one user's bad input could reject the others' logins.
   */
  alone?: (login: L) => boolean;
  /** When the round's logins go (default: setImmediate, after the round's I/O). */
  defer?: (flush: () => void) => void;
  now?: () => number;
}

interface Waiting<L, R> {
  login: L;
  resolve: (answer: R) => void;
  reject: (error: unknown) => void;
}

export class TouchBatcher<L, R> {
  readonly #max: number;
  readonly #sendOne: (login: L) => Promise<R>;
  readonly #sendBatch: (logins: L[]) => Array<Promise<R>>;
  readonly #alone: (login: L) => boolean;
  readonly #defer: (flush: () => void) => void;
  readonly #now: () => number;
  #queue: Array<Waiting<L, R>> = [];
  #flushScheduled = false;
  /** Until then (ms, #now's clock) every login goes alone: see sendAloneFor(). */
  #aloneUntil = 0;

  constructor(opts: TouchBatcherOptions<L, R>) {
    if (!Number.isInteger(opts.max) || opts.max < 1) throw new Error(`touch batch max must be an integer >= 1, got ${opts.max}`);
    this.#max = opts.max;
    this.#sendOne = opts.sendOne;
    this.#sendBatch = opts.sendBatch;
    this.#alone = opts.alone ?? (() => false);
    this.#defer = opts.defer ?? ((flush) => setImmediate(flush));
    this.#now = opts.now ?? Date.now;
  }

  send(login: L): Promise<R> {
    if (this.#max === 1 || this.#now() < this.#aloneUntil || this.#alone(login)) return this.#sendOne(login);
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ login, resolve, reject });
      if (this.#queue.length >= this.#max) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        this.#defer(() => {
          this.#flushScheduled = false;
          this.#flush();
        });
      }
    });
  }

  /** Sends every login alone for `ms` from now (an edge without the batch route answered 404). */
  sendAloneFor(ms: number): void {
    this.#aloneUntil = this.#now() + ms;
  }

  #flush(): void {
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    if (batch.length === 1) {
      const [only] = batch as [Waiting<L, R>];
      this.#sendOne(only.login).then(only.resolve, only.reject);
      return;
    }
    let answers: Array<Promise<R>>;
    try {
      answers = this.#sendBatch(batch.map((w) => w.login));
    } catch (e) {
      for (const w of batch) w.reject(e);
      return;
    }
    batch.forEach((w, i) => {
      (answers[i] ?? Promise.reject(new Error(`touch batch gave no answer for login ${i}`))).then(w.resolve, w.reject);
    });
  }
}
