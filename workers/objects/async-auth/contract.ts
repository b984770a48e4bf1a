/**
 * What callers of an AsyncAuth object get and give (the async API's route and flow, and the
 * AuthSession that tells it the outcome): its RPC arguments and results. The stored state is
 * internal (state.ts).
 */
import type { FinalStatus, SessionResultCode, SessionStatus } from "../../../core/codes";
import type { AnsweredByDevice } from "../auth-session/contract";

/** One async authentication, as its flow starts it. */
export interface AsyncAuthInit {
  /** The async id: this object's name, the caller's handle and the webhook's data.id. */
  id: string;
  endpoint: string;
  /** The API key's name (audit). */
  keyName: string;
  /** Masked (audit). */
  msisdn: string;
  /** The session's name (null: nothing was started, e.g. no approver could be listed). */
  session: string | null;
  /**
   * The number whose Subscriber hosts the session; absent: the session is an AuthSession object
   * of its own (Assisted Login, and states stored before sessions moved).
   */
  sessionHost?: string;
  sessionId: string;
  channel: string;
  createdAt: number;
  /** The user's deadline; the backstop asks the session a little after it. */
  deadline: number;
  /** The session's status right after its start: not pending when it already ended (FAILED_DELIVERY). */
  status: SessionStatus;
}

/** What the AuthSession tells when it ends. */
export interface SessionFinishedNotice {
  status: FinalStatus;
  answeredBy?: AnsweredByDevice;
}

/** An async authentication as a reader sees it; `endpoint` is whose API keys may read it. */
export type AsyncRead =
  | { kind: "not_found" }
  | { kind: "pending"; endpoint: string }
  | { kind: "finished"; endpoint: string; code: SessionResultCode };
