/**
 * The session's stored state: what exists in each status and Assisted Login phase, so the type
 * says which fields are there. Stored under STATE_KEY with the field names of earlier releases
 * (a session lives across a deploy); `fromStored` fills in what older states may lack.
 */
import type { Texts } from "../../config/schema";
import type { FinalStatus } from "../../../core/codes";
import { type LinkPageMatch, type MatchSetup, linkPageMatch } from "../../../core/match-policy";
import type { ApprovalPolicy } from "../../../core/user-verification";
import type { AnsweredByDevice, Approver, AssistedInit, AssistedPhase, Channel } from "../auth-session/contract";

export const STATE_KEY = "session";

/** What a pending session and its tombstone both keep. */
interface SessionCommon {
  createdAt: number;
  expiresAt: number;
  tombstoneMs: number;
  endpoint: string;
  leaseShard: string | null;
  /** The lease's key in its shard when it is not this session's id (SessionInit.leaseId). */
  leaseId?: string;
  /** This object's own name (SHA-256 of the link token), its key in the Subscriber's list. */
  name: string;
  channel: Channel;
}

/** A challenge pushed to a number's apps, with each device's single-use nonce of its last details fetch. */
export interface PushedChallenge {
  challengeId: string;
  /** By device id: each device fetches and answers on its own, so one's fetch does not void another's nonce. */
  nonces: Record<string, string>;
}

/** A pushed challenge as stored before several devices per number: one device, one nonce. */
interface LegacyPushedChallenge {
  deviceId: string;
  challengeId: string;
  nonce: string | null;
}

/** Nonces kept per challenge at most (devices per number are capped lower). */
const MAX_NONCES = 16;

/** The device that answered in the app, kept on the tombstone for the auth log and audit. */
export type AnsweredBy = AnsweredByDevice;

/**
 * The SMS owed as push fallback, to the user or (`to`) to the Assisted Login approver. It
 * holds the link, so it lives only until it is sent or the session ends; SMS-first sessions
 * never store the link at all.
 */
export interface SmsDue {
  at: number;
  text: string;
  link: string;
  to?: string;
}

/**
 * The picked approver. `link` names the alias object of their link (SHA-256 of its token);
 * `push` is the challenge pushed to their app, if they have one.
 */
export interface AskedApprover {
  name: string;
  msisdn: string;
  link: string;
  csrf: string;
  push?: PushedChallenge;
  /** As the user's acceptInApp: the approver's push went to a device that verifies its user. */
  acceptInApp?: true;
}

/** The Assisted Login phase (see AssistedPhase) with its data: the approver exists only once asked. */
export type AssistedState = AssistedInit &
  ({ phase: "user" } | { phase: "choose_approver" } | { phase: "approver_pending"; approver: AskedApprover });

/** After the user's Accept: picking an approver, or waiting for them. */
export type AssistedAfterUser = Exclude<AssistedState, { phase: "user" }>;
export type ApproverPending = Extract<AssistedState, { phase: "approver_pending" }>;

/** A session still waiting for an answer; only it holds numbers, texts and secrets. */
export interface Pending extends SessionCommon {
  status: "pending";
  purgeAt: null;
  msisdn: string;
  texts: Texts;
  csrf: string;
  activation: boolean;
  matchNumber: number | null;
  choices?: number[];
  /** The caller shows matchNumber (match-number); else only the SMS link page does. */
  callerShowsNumber: boolean;
  /** The challenge pushed to the user's app. */
  push?: PushedChallenge;
  /** The endpoint's push grace period (null: push off), also used for an approver's app. */
  pushGraceMs: number | null;
  smsDue: SmsDue | null;
  /** Assisted Login only (pending only: holds approver numbers). */
  assisted?: AssistedState;
  /** What an app's Accept needs (absent: stored before the setting, a tap). */
  approval?: ApprovalPolicy;
  /**
   * An Accept counts only in the app: the approval policy asks for user verification and the
   * challenge went to a device that has it, so the link page offers Reject alone (userPushed).
   */
  acceptInApp?: true;
  /** The async API's AsyncAuth object to tell the outcome (absent: a blocking call). */
  notify?: string;
}

/** The tombstone of an answered (or failed, or expired) session: data minimisation. */
export interface Finished extends SessionCommon {
  status: FinalStatus;
  /** After this the tombstone is deleted and the link reads as unknown. */
  purgeAt: number;
  /** The device whose answer in the app decided it (absent: another channel, or expiry). */
  answeredBy?: AnsweredBy;
}

export type SessionState = Pending | Finished;

/** A pushed challenge in the current shape, also from the one-device shape of earlier releases. */
function pushedFromStored(stored: PushedChallenge | LegacyPushedChallenge): PushedChallenge {
  if ("nonces" in stored) return stored;
  return { challengeId: stored.challengeId, nonces: stored.nonce ? { [stored.deviceId]: stored.nonce } : {} };
}

/** A state as stored by this or an earlier release (same key and field names). */
export function fromStored(stored: SessionState): SessionState {
  if (stored.status !== "pending") return stored;
  const assisted = stored.assisted;
  const asked = assisted?.phase === "approver_pending" ? assisted : null;
  return {
    ...stored,
    activation: stored.activation ?? false,
    matchNumber: stored.matchNumber ?? null,
    callerShowsNumber: stored.callerShowsNumber ?? false,
    pushGraceMs: stored.pushGraceMs ?? null,
    smsDue: stored.smsDue ?? null,
    ...(stored.push ? { push: pushedFromStored(stored.push) } : {}),
    ...(asked?.approver.push
      ? { assisted: { ...asked, approver: { ...asked.approver, push: pushedFromStored(asked.approver.push) } } }
      : {}),
  };
}

export function matchSetup(state: Pending): MatchSetup {
  return { matchNumber: state.matchNumber, choices: state.choices ?? null, callerShowsNumber: state.callerShowsNumber };
}

/** What the user's SMS link page offers: number matching, or Reject alone when only the app may accept. */
export function userLinkPage(state: Pending): LinkPageMatch {
  return linkPageMatch(matchSetup(state), state.acceptInApp === true);
}

/** The Assisted Login phase, "user" also for sessions without Assisted Login. */
export function phaseOf(state: Pending): AssistedPhase {
  return state.assisted?.phase ?? "user";
}

/** The asked approver (only in approver_pending). */
export function approverOf(state: Pending): ApproverPending | null {
  return state.assisted?.phase === "approver_pending" ? state.assisted : null;
}

/** What the session took at its start of an Assisted Login (without the phase and the asked approver). */
export function assistedInitOf(assisted: AssistedState): AssistedInit {
  const { approvers, linkBase, purpose, requesterUsernames } = assisted;
  return { approvers, linkBase, ...(purpose ? { purpose } : {}), ...(requesterUsernames ? { requesterUsernames } : {}) };
}

/**
 * The approver is the user themselves (four eyes are one pair): listed under the user's number,
 * or known by a name of the requester's, whatever number they are listed under. A state stored
 * without requesterUsernames keeps the number rule only.
 */
export function isRequester(state: Pending, approver: Approver): boolean {
  if (approver.msisdn === state.msisdn) return true;
  const asking = state.assisted?.requesterUsernames ?? [];
  return asking.length > 0 && (approver.usernames ?? []).some((u) => asking.includes(u));
}

export type ChallengeRole = "user" | "approver";

/** The challenge pushed to the user's or (while asked) the approver's app. */
export function pushedChallenge(state: Pending, role: ChallengeRole): PushedChallenge | undefined {
  return role === "user" ? state.push : approverOf(state)?.approver.push;
}

/** The device's current nonce for the challenge, if it fetched the details. */
export function nonceOf(challenge: PushedChallenge | undefined, deviceId: string): string | null {
  return challenge && Object.hasOwn(challenge.nonces, deviceId) ? (challenge.nonces[deviceId] ?? null) : null;
}

/** The challenge with `deviceId`'s nonce set (a details fetch) or consumed (null: an answer counted). */
function withDeviceNonce(push: PushedChallenge, deviceId: string, nonce: string | null): PushedChallenge {
  const nonces = Object.entries(push.nonces).filter(([id]) => id !== deviceId);
  if (nonce !== null) nonces.push([deviceId, nonce]);
  return { ...push, nonces: Object.fromEntries(nonces.slice(-MAX_NONCES)) };
}

export function withNonce(state: Pending, role: ChallengeRole, deviceId: string, nonce: string | null): Pending {
  if (role === "user") return state.push ? { ...state, push: withDeviceNonce(state.push, deviceId, nonce) } : state;
  const assisted = approverOf(state);
  const push = assisted?.approver.push;
  if (!assisted || !push) return state;
  return { ...state, assisted: { ...assisted, approver: { ...assisted.approver, push: withDeviceNonce(push, deviceId, nonce) } } };
}
