import type { SessionSubscriber } from "../session/delivery";
import { SessionRuntime } from "../session/session-runtime";
import { STATE_KEY, type SessionState, fromStored } from "../session/state";
import { nextWake } from "../session/transitions";
import { log } from "../../lib/log";
import { HostedPending } from "./hosted-pending";

/**
 * The number's own sign-in sessions, hosted in its Subscriber (docs/decisions/0022): each runs
 * the session's code (SessionRuntime) on a place made of this object's storage under the
 * session's prefix, a wake time in this object's schedule and its own socket tag. The object's
 * one alarm is kept at the earliest of the schedule and its other timers (the host's rearm);
 * what is due runs then. Runtimes are made on first use and dropped with the instance:
 * everything they need is in storage. The schedule is not stored: each wake time follows from
 * its session's stored state (transitions.ts nextWake), so a new instance reads it from the
 * states, and a timer costs no write beyond the state's and the alarm's.
 */
export interface SessionsHost {
  env: Env;
  storage: DurableObjectStorage;
  /** Sockets by tag, and accepting one with a tag (hibernatable). */
  getWebSockets(tag: string): WebSocket[];
  acceptWebSocket(ws: WebSocket, tags: string[]): void;
  waitUntil(work: Promise<unknown>): void;
  /** The session's id (its overload lease's key), as for a session in an object of its own. */
  sessionId(name: string): string;
  /** This number's Subscriber as its methods (called directly), or another number's stub. */
  subscriber(msisdn: string): SessionSubscriber;
  /** The schedule changed: the object's alarm goes to its earliest timer (these and its others). */
  rearm(): Promise<void>;
  /**
   * When the number's longest-held device was activated (null: it has none). A challenge made
   * again from a state is offered only if a device of the number predates its session: when
   * the last device went (Device.forget), the challenges pushed to it were withdrawn, and a
   * device activated later must not find them again after a restart.
   */
  devicesSince(): Promise<number | null>;
}

/**
 * How long past its deadline a hosted session made again from its state still counts as
 * pending should it never be released (as a stored entry's margin, authenticate.ts).
 */
export const HOSTED_PENDING_MARGIN_MS = 60_000;

/** How soon a session whose timer failed is woken again. */
const ALARM_RETRY_MS = 30_000;

/** Storage prefix of the sessions' keys (`s:<name>:session`, the state). */
const KEYS = "s:";
const keyPrefix = (name: string) => `${KEYS}${name}:`;
const STATE_SUFFIX = `:${STATE_KEY}`;
/** Tag of the sockets of calls waiting on a session. */
export const waiterTag = (name: string) => `waiter:${name}`;

export class HostedSessions {
  readonly #host: SessionsHost;
  #runtimes = new Map<string, SessionRuntime>();
  /**
   * Made from the stored states once per instance, in one pass: the schedule (session name ->
   * wake time) and the pending sessions as the cap and the challenges see them (hosted-pending.ts).
   */
  #made: { wakes: Map<string, number>; pending: HostedPending } | null = null;

  constructor(host: SessionsHost) {
    this.#host = host;
  }

  /** The session named `name` (it may not exist: its methods say not_found then). */
  runtime(name: string): SessionRuntime {
    let runtime = this.#runtimes.get(name);
    if (!runtime) {
      runtime = new SessionRuntime(this.#place(name));
      this.#runtimes.set(name, runtime);
    }
    return runtime;
  }

  /**
   * Runs `call` on the session named `name`, then forgets its runtime if it found nothing:
   * links that name no session here (made up, or edited) must not fill this object's memory.
   */
  async use<T>(name: string, call: (session: SessionRuntime) => Promise<T>): Promise<T> {
    const runtime = this.runtime(name);
    try {
      return await call(runtime);
    } finally {
      if (!runtime.holdsSomething() && this.#runtimes.get(name) === runtime) this.#runtimes.delete(name);
    }
  }

  /** How many sessions' runtimes this instance keeps in memory (bounded by the sessions it holds). */
  get inMemory(): number {
    return this.#runtimes.size;
  }

  /** Whether a session of that name is stored here. */
  async holds(name: string): Promise<boolean> {
    return (await this.#host.storage.list({ prefix: keyPrefix(name), limit: 1 })).size > 0;
  }

  /** The pending sessions held here (for the number's cap and its push challenges). */
  async pending(): Promise<HostedPending> {
    return (await this.#fromStates()).pending;
  }

  /** The earliest wake in the schedule, or null. */
  async nextWake(): Promise<number | null> {
    let next: number | null = null;
    for (const at of (await this.#schedule()).values()) if (next === null || at < next) next = at;
    return next;
  }

  /** Runs each session whose wake time has come (its timer: expiry, owed SMS, purge). */
  async runDue(now: number): Promise<void> {
    const due = [...(await this.#schedule())].filter(([, at]) => at <= now).map(([name]) => name);
    for (const name of due) {
      // Off the schedule first: the session's alarm sets its next wake itself.
      await this.#unschedule(name);
      try {
        await this.runtime(name).alarm();
      } catch (e) {
        // One session's failure must not hold up the others' timers, nor lose its own: it is
        // woken again shortly (its state says what is still due).
        log.error("session_alarm_failed", { note: "retried", error: String(e) });
        await this.#scheduleAt(name, Date.now() + ALARM_RETRY_MS);
      }
    }
  }

  #place(name: string) {
    const host = this.#host;
    const prefix = keyPrefix(name);
    const tag = waiterTag(name);
    return {
      env: host.env,
      // Derived when asked (a lease given back under the session's id): not on every step.
      get id() {
        return host.sessionId(name);
      },
      storage: {
        get: ((key: string) => host.storage.get(prefix + key)) as DurableObjectStorage["get"],
        put: ((key: string, value: unknown) => host.storage.put(prefix + key, value)) as DurableObjectStorage["put"],
        deleteAll: async () => {
          const keys = [...(await host.storage.list({ prefix })).keys()];
          if (keys.length) await host.storage.delete(keys);
          await this.#unschedule(name);
          this.#runtimes.delete(name);
        },
      },
      wakeAt: (at: number) => this.#scheduleAt(name, at),
      waiters: () => host.getWebSockets(tag),
      acceptWaiter: (ws: WebSocket) => host.acceptWebSocket(ws, [tag]),
      waitUntil: (work: Promise<unknown>) => host.waitUntil(work),
      subscriber: (msisdn: string) => host.subscriber(msisdn),
    };
  }

  async #schedule(): Promise<Map<string, number>> {
    return (await this.#fromStates()).wakes;
  }

  async #fromStates(): Promise<{ wakes: Map<string, number>; pending: HostedPending }> {
    if (!this.#made) {
      const wakes = new Map<string, number>();
      const pending = new HostedPending();
      let devicesSince: Promise<number | null> | null = null;
      for (const [key, stored] of await this.#host.storage.list<SessionState>({ prefix: KEYS })) {
        if (!key.endsWith(STATE_SUFFIX)) continue;
        const name = key.slice(KEYS.length, -STATE_SUFFIX.length);
        const state = fromStored(stored);
        wakes.set(name, nextWake(state));
        if (state.status === "pending") {
          // The number's devices are read once, and only if a pending session pushed a challenge.
          if (state.push && devicesSince === null) devicesSince = this.#host.devicesSince();
          const since = state.push && devicesSince ? await devicesSince : null;
          const challengeId = since !== null && since <= state.createdAt ? state.push?.challengeId : undefined;
          pending.add(name, { until: state.expiresAt + HOSTED_PENDING_MARGIN_MS, stored: true, ...(challengeId ? { challengeId } : {}) });
        }
      }
      // Another call may have made them during the list's await: the first made wins.
      this.#made ??= { wakes, pending };
    }
    return this.#made;
  }

  async #scheduleAt(name: string, at: number): Promise<void> {
    (await this.#schedule()).set(name, at);
    await this.#host.rearm();
  }

  async #unschedule(name: string): Promise<void> {
    if ((await this.#schedule()).delete(name)) await this.#host.rearm();
  }
}
