/**
 * What a session transition hands back: the new state, the result for the caller, and the
 * effects (I/O) the object carries out after the new state is stored.
 */
import type { FinalStatus } from "../../../core/codes";
import type { SmsMessage } from "../../sms/provider";
import type { AliasState } from "./approver-alias";
import type { AnsweredBy, SessionState } from "./state";

export interface Step<R> {
  state: SessionState;
  effects: Effect[];
  result: R;
}

/** The end of a session when its SMS cannot be sent (null: only logged). */
export interface SmsFailure {
  event: "delivery_failed" | "approver_delivery_failed";
  finish: "failed_delivery" | "invalid_approver" | null;
}

export type Effect =
  | { kind: "log"; level: "info" | "warn" | "error"; event: string; fields: Record<string, unknown> }
  /** Tells the async API's object the outcome (its backstop alarm asks if this is lost). */
  | { kind: "notify_async"; asyncName: string; status: FinalStatus; answeredBy?: AnsweredBy }
  /**
   * Resolves the API calls waiting in wait() and on sockets; one socket's call also takes the
   * overload lease in `leaseShard` (keyed `leaseId`, else the session's id) to give back, and
   * then `release` leaves the lease alone.
   */
  | { kind: "notify_waiters"; status: FinalStatus; leaseShard: string | null; leaseId?: string }
  /** The overload lease and the Subscriber entries (of the user and the asked approver). */
  | { kind: "release"; session: string; leaseShard: string | null; leaseId?: string; msisdns: string[] }
  /** The user's app stops offering the challenge. */
  | { kind: "close_challenge"; msisdn: string; session: string }
  /** Sent only while the session is still pending. */
  | { kind: "send_sms"; sms: SmsMessage; onFailure: SmsFailure }
  /** Binds the approver's link alias, then pushes to their app or sends them the link. */
  | { kind: "ask_approver"; alias: AliasState; sms: SmsMessage };

/** A push of a challenge id to a number's apps: the challenge exists even when no push went through. */
export interface PushOutcome {
  challenge: { challengeId: string };
  /** At least one device's push service took it. */
  delivered: boolean;
  /** One of the devices it went to can verify its user (has a platform credential). */
  userVerifying: boolean;
}

export function logEffect(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>): Effect {
  return { kind: "log", level, event, fields };
}
