/**
 * What callers of an AuthSession object get and give (the Worker's routes and domain): its
 * RPC arguments and results. The object's stored state is internal (state.ts).
 */
import type { Texts } from "../../config/schema";
import type { ApproverChoice, ChallengeDetails } from "../../../core/contracts/app-api";
import type { FinalStatus } from "../../../core/codes";
import type { LinkPageMatch } from "../../../core/match-policy";
import type { ApprovalPolicy } from "../../../core/user-verification";

/** The device that answered a session in the app (on the tombstone; for the auth log and audit). */
export interface AnsweredByDevice {
  deviceId: string;
  name: string;
}

/** How a session ended, for the blocking call: the status and, when the app decided it, which device. */
export interface SessionOutcome {
  status: FinalStatus;
  answeredBy?: AnsweredByDevice;
}

/**
 * A session's overload lease, handed with the outcome to the call that waited on it: that
 * call gives it back (workers/domain/lease-releases.ts), the session's object does not.
 */
export interface LeaseHandoff {
  shard: string;
  /** The lease's key in its shard: the session's id, or the leaseId it was started with. */
  id: string;
}

/** What a wait's socket carries: the outcome, and to one waiting call the session's lease. */
export interface WaitOutcome extends SessionOutcome {
  lease?: LeaseHandoff;
}

/**
 * The blocking call's wait (docs/decisions, "hibernatable wait"): the Worker sends a WebSocket
 * upgrade to this URL on the session's stub. A finished session answers 200 with the outcome,
 * an unknown one 404; a pending one accepts the socket (101) and sends the outcome on it once
 * (with the lease to give back, see LeaseHandoff), then closes it. Between the two the object
 * holds no request open and may hibernate.
 */
export const WAIT_URL = "https://auth-session.internal/wait";

const FINAL_STATUSES = {
  accepted: true,
  rejected: true,
  expired: true,
  failed_delivery: true,
  no_approver_selected: true,
  invalid_approver: true,
} satisfies Record<FinalStatus, true>;

/** The outcome as the wait sends it. */
export function outcomeMessage(outcome: WaitOutcome): string {
  return JSON.stringify(outcome);
}

/** The outcome the wait sent; an error if it is not one (never taken as an answer). */
export function parseOutcomeMessage(data: unknown): WaitOutcome {
  const parsed: unknown = typeof data === "string" ? JSON.parse(data) : null;
  const o = (typeof parsed === "object" && parsed !== null ? parsed : {}) as { status?: unknown; answeredBy?: unknown; lease?: unknown };
  if (typeof o.status !== "string" || !Object.hasOwn(FINAL_STATUSES, o.status)) throw new Error("session wait: not an outcome");
  const status = o.status as FinalStatus;
  const by = o.answeredBy as { deviceId?: unknown; name?: unknown } | undefined;
  if (by !== undefined && (typeof by !== "object" || by === null || typeof by.deviceId !== "string" || typeof by.name !== "string"))
    throw new Error("session wait: bad answeredBy");
  const lease = o.lease as { shard?: unknown; id?: unknown } | undefined;
  if (
    lease !== undefined &&
    (typeof lease !== "object" || lease === null || typeof lease.shard !== "string" || typeof lease.id !== "string")
  )
    throw new Error("session wait: bad lease");
  return {
    status,
    ...(by ? { answeredBy: { deviceId: by.deviceId as string, name: by.name as string } } : {}),
    ...(lease ? { lease: { shard: lease.shard as string, id: lease.id as string } } : {}),
  };
}

/**
 * Someone who can approve an Assisted Login. `id` is opaque to the user's browser.
 * `usernames`: the directory names this person signs in under (normalizeUsername), where the
 * source knows them; the session refuses them as approver of a requester with one of these
 * names, whichever number they are listed under. Never shown to the user.
 */
export interface Approver {
  id: string;
  name: string;
  msisdn: string;
  usernames?: string[];
}

/** How the session reaches the user; decided at start() and reported in the auth log. */
export type Channel = "sms" | "push" | "push+sms";

/** Authenticator-app options of a session, from its endpoint's config. */
export interface SessionAppOptions {
  /** The SMS link page offers app activation. */
  activation: boolean;
  /** Try a push first; fall back to the SMS link after graceMs without an answer. */
  push: { graceMs: number } | null;
  /** Number matching: the number the login side shows (null: off). */
  matchNumber: number | null;
  /** The caller's login page shows matchNumber; otherwise only the SMS link page does. */
  callerShowsNumber: boolean;
  /** What an Accept in the app needs (absent: a tap). */
  approval?: ApprovalPolicy;
}

/** What the API route hands a new session. `link` is sent, never stored (see smsDue). */
export interface SessionInit {
  /** This object's own name (SHA-256 of the link token), its key in the Subscriber's list. */
  name: string;
  msisdn: string;
  endpoint: string;
  texts: Texts;
  smsText: string;
  link: string;
  timeoutMs: number;
  tombstoneMs: number;
  /** Name of the LoadShard object holding this session's overload lease. */
  leaseShard: string | null;
  /**
   * The lease's key in that shard when it is not this session's id: a lease taken over from an
   * earlier session of the same isolate (workers/domain/lease-pool.ts).
   */
  leaseId?: string;
  app: SessionAppOptions;
  /**
   * False when admission found no device of the number's to push to: its SMS goes at once,
   * with no call to open a challenge. (Approvers' pushes follow app.push still.)
   */
  userPushable?: boolean;
  /** Assisted Login: after accepting, the user picks one of these, who must accept too. */
  assisted?: AssistedInit | null;
  /** The async API: the AsyncAuth object (its name) told the outcome when the session ends. */
  notify?: string;
}

export interface AssistedInit {
  /** Snapshot of the endpoint's approvers (from its ApproverDirectory) at the start. */
  approvers: Approver[];
  /** Origin (and path prefix) for the approver's link: `${linkBase}/m/<token>`. */
  linkBase: string;
  /** What the approver approves: a sign-in (default) or a password reset (the reset portal). */
  purpose?: "sign-in" | "password-reset";
  /**
   * Who asks, where the flow knows it (the reset's username, a relay Touch's RADIUS username;
   * normalizeUsername): an approver known by one of these names is the requester and is
   * refused. Absent (the Magic Link API, which knows only the number; a session stored before
   * this field): only the number rule applies.
   */
  requesterUsernames?: string[];
}

/**
 * Assisted Login phases inside a pending session; stored, so a restart resumes the phase.
 * user: waiting for the user's answer; choose_approver: the user accepted and must pick an
 * approver; approver_pending: the approver has their own link and must answer.
 */
export type AssistedPhase = "user" | "choose_approver" | "approver_pending";

/** The user's approver list: names and opaque ids only, never numbers. */
export type ChooseApproverView = {
  kind: "choose_approver";
  title: string;
  csrf: string;
  approvers: Array<{ id: string; name: string }>;
};
export type ApproverPendingView = { kind: "approver_pending"; title: string; approverName: string };
/** What the approver's link shows. */
export type ApproverView = {
  kind: "approver";
  title: string;
  text: string;
  buttonAccept: string;
  buttonReject: string;
  csrf: string;
  /** The approver accepts only in the app (user verification): the page offers Reject alone. */
  acceptInApp: boolean;
};

export type SessionView =
  | {
      kind: "pending";
      texts: Texts;
      csrf: string;
      expiresAt: number;
      activation: boolean;
      /** Number matching on this page: none, pick one of three, or show the number (no Accept). */
      match: LinkPageMatch;
    }
  | ChooseApproverView
  | ApproverPendingView
  | ApproverView
  | { kind: "finished"; status: FinalStatus }
  | { kind: "not_found" };

export type DecideOutcome =
  | { kind: "decided"; status: "accepted" | "rejected"; text: string }
  /** Assisted Login: the user's Accept (or a repeated answer) leads to the approver steps. */
  | ChooseApproverView
  | ApproverPendingView
  | { kind: "finished"; status: FinalStatus }
  | { kind: "forbidden" }
  | { kind: "not_found" };

export type ChooseOutcome =
  | { kind: "asked"; title: string; approverName: string }
  | ApproverPendingView
  | { kind: "finished"; status: FinalStatus }
  | { kind: "forbidden" }
  | { kind: "not_found" };

/** Challenge details for the app (the API adds `status: "pending"`). */
export type AppView =
  | ({ kind: "pending" } & Omit<ChallengeDetails, "status">)
  | { kind: "finished"; status: FinalStatus }
  | { kind: "not_found" };

export type AppDecideOutcome =
  | { kind: "decided"; status: "accepted" | "rejected"; text: string; numberMismatch: boolean }
  /** Assisted Login: the user's Accept counted; the next signed answer names the approver. */
  | { kind: "choose_approver"; title: string; approvers: ApproverChoice[]; nonce: string }
  /** Assisted Login: the approver the user picked in the app was asked. */
  | { kind: "asked"; approverName: string }
  | { kind: "finished"; status: FinalStatus }
  /** The nonce is not the current one: stale or replayed. The session is unchanged. */
  | { kind: "stale_nonce" }
  /** The endpoint needs user verification for an Accept and none (or a bad one) came. The session is unchanged. */
  | { kind: "uv_required" }
  /** The endpoint needs user verification, this device has no platform authenticator, and a tap is refused. */
  | { kind: "uv_unavailable" }
  | { kind: "not_found" };

export type ActivationGrant = { kind: "granted"; msisdn: string } | { kind: "refused" } | { kind: "not_found" };
