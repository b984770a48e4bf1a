import { checkTotp } from "../../../core/otp.ts";
import { mayCheck, verdictOf, type LocalVerdict } from "./acceptance.ts";
import type { TokenStore } from "./token-store.ts";

/**
 * Verifies codes against the local token store: no network. A user's checks run one after
 * another (decryption and the TOTP check are async), so concurrent guesses cannot all slip
 * in before the first failure is counted.
 */
export interface LocalTotpCheck {
  verdict: LocalVerdict;
  /** Set when this code started or lengthened a lock (worth an alert), or the token is locked. */
  lockedUntil?: number;
}

export class LocalTotpVerifier {
  readonly #store: TokenStore;
  readonly #queue = new Map<string, Promise<unknown>>();

  constructor(store: TokenStore) {
    this.#store = store;
  }

  has(username: string): boolean {
    return this.#store.has(username);
  }

  verify(username: string, code: string, now: () => number): Promise<LocalTotpCheck> {
    const previous = this.#queue.get(username) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.#verify(username, code, now()));
    this.#queue.set(username, run);
    void run.finally(() => {
      if (this.#queue.get(username) === run) this.#queue.delete(username);
    });
    return run;
  }

  async #verify(username: string, code: string, now: number): Promise<LocalTotpCheck> {
    const token = this.#store.get(username);
    if (!token) return { verdict: "no-token" };
    if (!mayCheck(token, now)) return { verdict: "locked", lockedUntil: token.lockout.lockedUntil };
    // A seed that does not open (row moved to another user, tampered, another key) throws:
    // the caller rejects and logs it; it is a fault, not a guess, so it is not counted.
    const seed = await this.#store.seedOf(token);
    const check = await checkTotp(seed, code, now, undefined, token.params);
    const verdict = verdictOf(token, check);
    // The conditional write is the single-use guarantee, even across processes.
    if (verdict === "accept" && check.valid && this.#store.acceptStep(username, check.timeStep, now)) return { verdict: "accept" };
    return this.#failed(username, verdict === "reject" ? "reject" : "replay", now);
  }

  #failed(username: string, verdict: "reject" | "replay", now: number): LocalTotpCheck {
    const outcome = this.#store.recordFailure(username, now);
    return outcome?.locked ? { verdict, lockedUntil: outcome.locked.untilMs } : { verdict };
  }
}
