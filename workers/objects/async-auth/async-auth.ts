import { DurableObject } from "cloudflare:workers";
import { codeForStatus } from "../../../core/codes";
import { randomToken } from "../../../core/tokens";
import type { SessionOutcome } from "../auth-session/contract";
import { objectStub } from "../../lib/durable-objects";
import { log } from "../../lib/log";
import { auditAdmin, auditAuth } from "../../store/audit";
import type { AsyncAuthInit, AsyncRead, SessionFinishedNotice } from "./contract";
import { type AsyncState, EARLY_KEY, EARLY_NOTICE_TTL_MS, STATE_KEY, attempted, created, finished, nextWake, readable } from "./state";
import { attemptWebhook } from "./webhook";

/** How long the backstop waits on the session before trying again at a later alarm. */
const BACKSTOP_WAIT_MS = 5_000;
const BACKSTOP_RETRY_MS = 60_000;

/**
 * One async authentication (POST /api/v2/auth), named by its unguessable id. It holds the
 * endpoint whose keys may read it, the session's outcome, and the webhook's delivery state, all
 * in storage, with one alarm for the backstop (ask the session if its notice was lost), the
 * webhook attempts with their back-off, and the purge. Long-polls wait here, never on the session.
 */
export class AsyncAuth extends DurableObject<Env> {
  #state: AsyncState | null | undefined;
  #waiters: Array<() => void> = [];

  /** Stores the started authentication (once), taking in an outcome that arrived before it. */
  async create(init: AsyncAuthInit): Promise<void> {
    if (await this.#load()) throw new Error("async authentication already exists");
    const early = (await this.ctx.storage.get<SessionFinishedNotice>(EARLY_KEY)) ?? null;
    if (early) await this.ctx.storage.delete(EARLY_KEY);
    await this.#save(created(init, early, newMsgId(), Date.now()));
  }

  /** The AuthSession's notice that it ended (also before create(): the session ended inside its start). */
  async sessionFinished(notice: SessionFinishedNotice): Promise<void> {
    const state = await this.#load();
    if (!state) {
      await this.ctx.storage.put(EARLY_KEY, notice);
      await this.ctx.storage.setAlarm(Date.now() + EARLY_NOTICE_TTL_MS);
      return;
    }
    await this.#finish(notice);
  }

  /**
   * The result, waiting up to `waitMs` for it while pending. `endpoint` lets the route check
   * the caller's key; past its retention a result reads as unknown.
   */
  async poll(waitMs: number): Promise<AsyncRead> {
    const state = await this.#load();
    if (!state || !readable(state, Date.now())) return { kind: "not_found" };
    if (!state.result && waitMs > 0) {
      let wake: () => void = () => {};
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      this.#waiters.push(wake);
      const timer = setTimeout(wake, waitMs);
      await woken;
      clearTimeout(timer);
      // A poll that timed out leaves no waiter behind.
      this.#waiters = this.#waiters.filter((w) => w !== wake);
    }
    return this.#read();
  }

  /** Who may read it (without waiting): the route checks the key before a long-poll. */
  async peek(): Promise<AsyncRead> {
    const state = await this.#load();
    if (!state || !readable(state, Date.now())) return { kind: "not_found" };
    return this.#read();
  }

  /** The one alarm: backstop, audit row, webhook attempt, purge (state.ts nextWake). */
  override async alarm(): Promise<void> {
    const state = await this.#load();
    if (!state) {
      await this.ctx.storage.deleteAll(); // an early notice whose create() never came
      return;
    }
    const now = Date.now();
    if (!state.result) return this.#backstop(state);
    if (!state.audited) await this.#audit(state);
    const current = this.#loaded();
    const webhook = current.webhook;
    if (webhook?.state === "due") return this.#deliver(current, webhook);
    if (current.purgeAt !== null && now >= current.purgeAt) {
      this.#state = null;
      await this.ctx.storage.deleteAll();
      return;
    }
    await this.ctx.storage.setAlarm(nextWake(current));
  }

  #read(): AsyncRead {
    const state = this.#loaded();
    if (!state.result) return { kind: "pending", endpoint: state.endpoint };
    return { kind: "finished", endpoint: state.endpoint, code: codeForStatus(state.result.status) };
  }

  async #finish(notice: SessionFinishedNotice): Promise<void> {
    // The state as it is now, not as a caller loaded it before waiting (the backstop waits
    // up to BACKSTOP_WAIT_MS, during which the session's own notice may have arrived).
    const state = await this.#load();
    if (!state || state.result) return;
    // Stored before anyone hears of it; the alarm (due now) writes the audit row and posts the webhook.
    await this.#save(finished(state, notice, newMsgId(), Date.now()));
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** The session's notice never came: ask it (it ends itself once past its deadline). */
  async #backstop(state: AsyncState): Promise<void> {
    if (!state.session) {
      log.error("async_start_lost", { endpoint: state.endpoint });
      return this.#finish({ status: "failed_delivery" });
    }
    const outcome = await Promise.race([
      state.sessionHost
        ? objectStub(this.env, "SUBSCRIBER", state.sessionHost).sessionWaitOutcome(state.session)
        : objectStub(this.env, "AUTH_SESSION", state.session).waitOutcome(),
      new Promise<"waiting">((resolve) => setTimeout(() => resolve("waiting"), BACKSTOP_WAIT_MS)),
    ]).catch((e: unknown): "waiting" => {
      log.warn("async_backstop_failed", { endpoint: state.endpoint, error: String(e) });
      return "waiting";
    });
    if (outcome === "waiting") {
      await this.ctx.storage.setAlarm(Date.now() + BACKSTOP_RETRY_MS);
      return;
    }
    log.warn("async_backstop_pulled", { endpoint: state.endpoint, found: outcome !== null });
    // A session purged before anyone asked: nobody answered that we know of.
    const notice: SessionFinishedNotice = outcome ? fromOutcome(outcome) : { status: "expired" };
    await this.#finish(notice);
  }

  /** One row per async authentication with its result, as the blocking call writes. */
  async #audit(state: AsyncState): Promise<void> {
    const result = state.result;
    if (!result) return;
    const code = codeForStatus(result.status);
    const by = result.answeredBy;
    const detail = {
      api: "async",
      key: state.keyName,
      session: state.sessionId.slice(0, 12),
      ...(by ? { device: { id: by.deviceId, name: by.name } } : {}),
    };
    const entry = {
      endpoint: state.endpoint,
      msisdn: state.msisdn,
      channel: state.channel,
      result: code,
      latencyMs: result.at - state.createdAt,
    };
    log.info("auth", { ...entry, ...detail });
    await auditAuth(this.env.DB, { ...entry, detail }).catch((e: unknown) => log.error("audit_write_failed", { error: String(e) }));
    await this.#save({ ...state, audited: true });
  }

  async #deliver(state: AsyncState, webhook: Extract<AsyncState["webhook"], { state: "due" }>): Promise<void> {
    const result = state.result;
    if (!result) return;
    const message = { id: state.id, endpoint: state.endpoint, msgId: webhook.msgId, result };
    const outcome = await attemptWebhook(this.env, message, Date.now());
    if ("none" in outcome) return this.#save({ ...state, webhook: { state: "none" } });
    const next = attempted(webhook, outcome, Date.now());
    const fields = { endpoint: state.endpoint, webhookId: webhook.msgId, attempts: webhook.attempts + 1 };
    if (next.state === "delivered") log.info("webhook_delivered", fields);
    else if (next.state === "due") log.warn("webhook_failed", { ...fields, error: next.lastError, retryAt: next.nextAt });
    else if (next.state === "given_up") {
      log.error("webhook_gave_up", { ...fields, error: next.lastError });
      await auditAdmin(this.env.DB, {
        actor: "system",
        action: "webhook.gave_up",
        endpoint: state.endpoint,
        detail: { webhookId: webhook.msgId, attempts: next.attempts, error: next.lastError },
      }).catch((e: unknown) => log.error("audit_write_failed", { error: String(e) }));
    }
    await this.#save({ ...state, webhook: next });
  }

  async #load(): Promise<AsyncState | null> {
    if (this.#state === undefined) this.#state = (await this.ctx.storage.get<AsyncState>(STATE_KEY)) ?? null;
    return this.#state;
  }

  #loaded(): AsyncState {
    if (!this.#state) throw new Error("async state not loaded");
    return this.#state;
  }

  async #save(state: AsyncState): Promise<void> {
    this.#state = state;
    await this.ctx.storage.put(STATE_KEY, state);
    await this.ctx.storage.setAlarm(nextWake(state));
  }
}

/** The webhook's idempotency id: one per result, the same on every retry. */
function newMsgId(): string {
  return `msg_${randomToken(18)}`;
}

function fromOutcome(outcome: SessionOutcome): SessionFinishedNotice {
  return { status: outcome.status, ...(outcome.answeredBy ? { answeredBy: outcome.answeredBy } : {}) };
}
