import { DurableObject } from "cloudflare:workers";
import type { Texts } from "../workers/config/schema";
import type { FinalStatus, SessionStatus } from "../workers/lib/codes";
import { randomToken, timingSafeEqualString } from "../workers/lib/tokens";
import { smsProviderFromEnv } from "../workers/sms/from-env";

/** What the API route hands a new session. `link` is sent, never stored. */
export interface SessionInit {
  msisdn: string;
  endpoint: string;
  texts: Texts;
  smsText: string;
  link: string;
  timeoutMs: number;
  tombstoneMs: number;
  /** Name of the LoadShard object holding this session's overload lease. */
  leaseShard: string | null;
}

interface SessionState {
  status: SessionStatus;
  createdAt: number;
  expiresAt: number;
  /** After this the tombstone is deleted and the link reads as unknown. */
  purgeAt: number | null;
  tombstoneMs: number;
  endpoint: string;
  leaseShard: string | null;
  /** Pending only: dropped when the session ends (data minimisation). */
  msisdn?: string;
  texts?: Texts;
  csrf?: string;
}

export type SessionView =
  | { kind: "pending"; texts: Texts; csrf: string; expiresAt: number }
  | { kind: "finished"; status: FinalStatus }
  | { kind: "not_found" };

export type DecideOutcome =
  | { kind: "decided"; status: "accepted" | "rejected"; text: string }
  | { kind: "finished"; status: FinalStatus }
  | { kind: "forbidden" }
  | { kind: "not_found" };

const STATE_KEY = "session";

/**
 * One blocking Magic Link session. It is named by the SHA-256 of its link token, keeps its
 * state in storage and its expiry in an alarm, so a restarted instance picks up exactly where
 * the old one was; the API call waiting in `wait()` simply calls again after an eviction.
 */
export class AuthSession extends DurableObject<Env> {
  #state: SessionState | null | undefined;
  #waiters: Array<(status: FinalStatus) => void> = [];

  async start(init: SessionInit): Promise<SessionStatus> {
    if (await this.#load()) throw new Error("session already exists");
    const now = Date.now();
    const state: SessionState = {
      status: "pending",
      createdAt: now,
      expiresAt: now + init.timeoutMs,
      purgeAt: null,
      tombstoneMs: init.tombstoneMs,
      endpoint: init.endpoint,
      leaseShard: init.leaseShard,
      msisdn: init.msisdn,
      texts: init.texts,
      csrf: randomToken(),
    };
    await this.#save(state);
    await this.ctx.storage.setAlarm(state.expiresAt);

    try {
      await smsProviderFromEnv(this.env).send({ to: init.msisdn, text: init.smsText, link: init.link });
    } catch (e) {
      console.error(JSON.stringify({ event: "delivery_failed", endpoint: init.endpoint, error: String(e) }));
      await this.#finish("failed_delivery");
    }
    return this.#state!.status;
  }

  /**
   * Resolves with the final status; safe to call again after an eviction or restart.
   * Null means there is no such session (never started, or purged after its tombstone).
   */
  async wait(): Promise<FinalStatus | null> {
    const state = await this.#load();
    if (!state) return null;
    if (state.status !== "pending") return state.status;
    if (Date.now() >= state.expiresAt) return this.#finish("expired");
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Read-only view for the approval page: a GET (or a link scanner) never changes state. */
  async view(): Promise<SessionView> {
    const state = await this.#load();
    if (!state) return { kind: "not_found" };
    if (state.status === "pending" && Date.now() >= state.expiresAt) await this.#finish("expired");
    if (state.status !== "pending") return { kind: "finished", status: state.status };
    return { kind: "pending", texts: state.texts!, csrf: state.csrf!, expiresAt: state.expiresAt };
  }

  /** The user's answer. Single use: only the first valid answer while pending counts. */
  async decide(decision: "accept" | "reject", csrf: string): Promise<DecideOutcome> {
    const state = await this.#load();
    if (!state) return { kind: "not_found" };
    if (state.status === "pending" && Date.now() >= state.expiresAt) await this.#finish("expired");
    if (state.status !== "pending") return { kind: "finished", status: state.status };
    if (!(await timingSafeEqualString(csrf, state.csrf!))) return { kind: "forbidden" };
    // Re-check after the await: another answer may have landed in between.
    if (this.#state!.status !== "pending") return { kind: "finished", status: this.#state!.status as FinalStatus };
    const texts = state.texts!;
    const status = decision === "accept" ? "accepted" : "rejected";
    await this.#finish(status);
    return { kind: "decided", status, text: status === "accepted" ? texts.touchAccept : texts.touchReject };
  }

  override async alarm(): Promise<void> {
    const state = await this.#load();
    if (!state) return;
    const now = Date.now();
    if (state.status === "pending") {
      if (now >= state.expiresAt) await this.#finish("expired");
      else await this.ctx.storage.setAlarm(state.expiresAt);
    } else if (state.purgeAt !== null && now >= state.purgeAt) {
      this.#state = null;
      await this.ctx.storage.deleteAll();
    } else if (state.purgeAt !== null) {
      await this.ctx.storage.setAlarm(state.purgeAt);
    }
  }

  async #finish(status: FinalStatus): Promise<FinalStatus> {
    const state = this.#state!;
    if (state.status !== "pending") return state.status;
    const now = Date.now();
    const finished: SessionState = {
      status,
      createdAt: state.createdAt,
      expiresAt: state.expiresAt,
      purgeAt: now + state.tombstoneMs,
      tombstoneMs: state.tombstoneMs,
      endpoint: state.endpoint,
      leaseShard: state.leaseShard,
    };
    // Durable before anyone hears about it: a crash after this point cannot undo the answer.
    await this.#save(finished);
    await this.ctx.storage.setAlarm(finished.purgeAt!);
    for (const resolve of this.#waiters.splice(0)) resolve(status);
    if (state.leaseShard) {
      await this.env.LOAD_SHARD.getByName(state.leaseShard)
        .release(this.ctx.id.toString())
        .catch((e: unknown) => console.warn(`lease release failed (expires on its own): ${String(e)}`));
    }
    return status;
  }

  async #load(): Promise<SessionState | null> {
    if (this.#state === undefined) this.#state = (await this.ctx.storage.get<SessionState>(STATE_KEY)) ?? null;
    return this.#state;
  }

  async #save(state: SessionState): Promise<void> {
    this.#state = state;
    await this.ctx.storage.put(STATE_KEY, state);
  }
}
