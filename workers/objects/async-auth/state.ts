/**
 * The stored state of one async authentication and its pure rules: when the result is known,
 * what the webhook does next, and when the single alarm fires (backstop, webhook attempt or
 * purge). The object applies these; tests check them without a runtime.
 */
import type { FinalStatus } from "../../../core/codes";
import { RESULT_RETENTION_SECONDS } from "../../../core/contracts/async-auth";
import { nextWebhookAttempt } from "../../../core/webhook-retry";
import type { AnsweredByDevice } from "../auth-session/contract";
import type { AsyncAuthInit, SessionFinishedNotice } from "./contract";

export const STATE_KEY = "async";
/** A session's outcome that arrived before create() (the session ended inside its own start). */
export const EARLY_KEY = "early";

/** After the deadline, how long the backstop waits for the session's own notice. */
export const BACKSTOP_MARGIN_MS = 15_000;
/** An early notice whose create() never came (the call died in between) is dropped after this. */
export const EARLY_NOTICE_TTL_MS = 10 * 60_000;

export type WebhookDelivery =
  /** An attempt is owed at the alarm (`attempts` failed so far). */
  | { state: "due"; msgId: string; attempts: number; nextAt: number; lastError?: string }
  | { state: "delivered"; msgId: string; attempts: number }
  | { state: "given_up"; msgId: string; attempts: number; lastError: string }
  /** The endpoint has no webhook. */
  | { state: "none" };

export interface AsyncResult {
  status: FinalStatus;
  at: number;
  answeredBy?: AnsweredByDevice;
}

export interface AsyncState extends AsyncAuthInit {
  result: AsyncResult | null;
  /** The result's audit row was written (or tried: a failure is logged, as for the blocking call). */
  audited: boolean;
  /** Set with the result: the first attempt is due at once (the endpoint decides at the alarm whether it has a webhook). */
  webhook: WebhookDelivery | null;
  /** When the result stops being readable. */
  purgeAt: number | null;
}

export function created(init: AsyncAuthInit, early: SessionFinishedNotice | null, msgId: string, now: number): AsyncState {
  const state: AsyncState = { ...init, result: null, audited: false, webhook: null, purgeAt: null };
  if (early) return finished(state, early, msgId, now);
  return init.status === "pending" ? state : finished(state, { status: init.status }, msgId, now);
}

/** The result is known (once: later notices change nothing). */
export function finished(state: AsyncState, notice: SessionFinishedNotice, msgId: string, now: number): AsyncState {
  if (state.result) return state;
  return {
    ...state,
    result: { status: notice.status, at: now, ...(notice.answeredBy ? { answeredBy: notice.answeredBy } : {}) },
    webhook: { state: "due", msgId, attempts: 0, nextAt: now },
    purgeAt: now + RESULT_RETENTION_SECONDS * 1000,
  };
}

export type AttemptOutcome = { ok: true } | { ok: false; error: string; final?: boolean };

/** After one delivery attempt: delivered, due again after the back-off, or given up. */
export function attempted(webhook: Extract<WebhookDelivery, { state: "due" }>, outcome: AttemptOutcome, now: number): WebhookDelivery {
  const attempts = webhook.attempts + 1;
  if (outcome.ok) return { state: "delivered", msgId: webhook.msgId, attempts };
  const nextAt = outcome.final ? null : nextWebhookAttempt(attempts, now);
  if (nextAt === null) return { state: "given_up", msgId: webhook.msgId, attempts, lastError: outcome.error };
  return { state: "due", msgId: webhook.msgId, attempts, nextAt, lastError: outcome.error };
}

/** Readable by GET: pending, or finished within its retention. */
export function readable(state: AsyncState, now: number): boolean {
  return state.purgeAt === null || now < state.purgeAt;
}

/**
 * The one alarm: the backstop while there is no result, a due webhook attempt, else the purge
 * (kept while a webhook is still owed).
 */
export function nextWake(state: AsyncState): number {
  if (!state.result) return state.deadline + BACKSTOP_MARGIN_MS;
  if (!state.audited) return state.result.at;
  if (state.webhook?.state === "due") return state.webhook.nextAt;
  return state.purgeAt ?? state.result.at;
}
