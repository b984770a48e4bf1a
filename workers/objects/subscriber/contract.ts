/** What callers of a Subscriber object get and give: its RPC arguments and results. */
import type { AnswerClaims, DeviceListing, DevicePublicKey, PushSubscriptionJson } from "../../../core/contracts/app-api";
import type { UvCredential } from "../../../core/device-activation";
import type { FailureOutcome } from "../../../core/offline-lockout";
import type { RelyingParty } from "../../lib/webauthn";
import type { RateLimits } from "../../../core/rate-limit";
import type { SessionStatus } from "../../../core/codes";
import type { Channel, SessionInit } from "../auth-session/contract";

export type OtpVerdict = "accept" | "reject" | "expired" | "locked";

/** An offline-code check; `lockout` is set when this check started or lengthened a lock. */
export interface OfflineCheck {
  verdict: OtpVerdict;
  lockout: FailureOutcome["locked"];
}

export type AdmitResult =
  /** `pushable`: asked for by a claim with `push`, whether the number has a device that gets pushes. */
  | { allowed: true; retryAfterMs: 0; pushable?: boolean }
  | { allowed: false; reason: "rate_limited" | "too_many_pending"; retryAfterMs?: number };

export interface PendingClaim {
  /** Name of the AuthSession object. */
  session: string;
  /** When the entry lapses on its own, should the session never release it. */
  until: number;
  cap: number;
  /**
   * The session would push to the number's app: the answer says whether it has a device for
   * that, so a number without one is sent its SMS at once, with no second call to open a challenge.
   */
  push?: boolean;
}

/** What a device brings to its activation (checked by the edge first). */
export interface NewDevice {
  publicKey: DevicePublicKey;
  subscription: PushSubscriptionJson | null;
  name: string;
  /** Its WebAuthn credential, registered with user verification; null: the device has none. */
  uv: UvCredential | null;
}

export type ActivateResult =
  | { ok: true; kind: "activated"; deviceId: string; seed: string }
  /**
   * The number has devices: the new one joins at `effectiveAt` unless one of `existing` refuses
   * (wire name "replacement": before several devices per number it replaced the one device).
   */
  | { ok: true; kind: "replacement_pending"; deviceId: string; effectiveAt: number; existing: DeviceRef[] }
  | { ok: false; reason: "invalid_token" | "wrong_code" }
  /** The number has `max` devices already; the token stays usable once one is removed. */
  | { ok: false; reason: "device_limit"; max: number };

/** Enough of a device to notify it (its push subscription) and to name it in logs. */
export interface DeviceRef {
  id: string;
  subscription: PushSubscriptionJson | null;
}

/** Public facts about a device (never its seed, key or credential). */
export interface DeviceInfo {
  deviceId: string;
  name: string;
  push: boolean;
  /** It registered a WebAuthn credential with user verification. */
  userVerification: boolean;
  activatedAt: number;
}

/** A device that asks for or answers a challenge; the Subscriber checked it is one of the number's. */
export interface AnsweringDevice {
  id: string;
  name: string;
  /** It has a user-verification credential. */
  uv: boolean;
}

/** Whether an Accept came with a user-verification assertion, and whether it held. */
export type UvProof = "verified" | "missing" | "invalid";

/** The pending join another device asked for, as the number's devices see it. */
export interface PendingJoin {
  name: string;
  requestedAt: number;
  effectiveAt: number;
}

export interface DevicePending {
  challenges: string[];
  replacement: PendingJoin | null;
  devices: DeviceListing[];
}

export type ClaimResult =
  /** `replaced`: this claim added it to the number's devices (false: a repeated claim). */
  | { kind: "activated"; seed: string; replaced: boolean; name: string }
  | { kind: "waiting"; effectiveAt: number }
  | { kind: "unknown_device" }
  | { kind: "device_limit"; max: number }
  | { kind: "refused" };

export type DeviceUpdateResult =
  | "updated"
  | "removed"
  | "replacement_refused"
  | "replacement_approved"
  /** An SMS OTP push acknowledged: its SMS is not sent; or it was not owed (sent, used, or another challenge). */
  | "otp_seen"
  | "otp_not_owed"
  | "refused";

/** An SMS OTP pushed to the number's app first: the SMS that follows after `graceMs` unless acknowledged. */
export interface SmsOtpPush {
  to: string;
  text: string;
  graceMs: number;
}

/** A started SMS OTP challenge; `devices`: where to push the code (none: send the SMS now). */
export interface SmsOtpStarted {
  challengeId: string;
  devices: PushTarget["devices"];
}

/** Where to push a challenge: every device of the number with a push subscription. */
/** A signed read (pending, devices, a challenge) whose signature did not verify, or is stale. */
export interface SignedReadRefused {
  refused: "bad_signature";
}

export interface PushTarget {
  challengeId: string;
  /** `userVerifying`: the device has a platform credential (it can verify its user). */
  devices: Array<{ deviceId: string; subscription: PushSubscriptionJson; userVerifying: boolean }>;
}

export type AnswerCheck =
  /** `hosted`: the session is one this Subscriber hosts (else an AuthSession object of its own). */
  | { ok: true; session: string; hosted: boolean; claims: AnswerClaims; device: AnsweringDevice; uv: UvProof }
  | { ok: false; reason: "unknown_device" | "bad_signature" | "unknown_challenge" };

/** How the edge checks a user-verification assertion: its expected origin and relying party. */
export type UvExpectation = RelyingParty;

/** The number's wrong-code lockouts, by kind: offline codes (TOTP, signed challenges) and SMS OTP. */
export const LOCK_KINDS = ["offline", "smsOtp"] as const;
export type LockKindName = (typeof LOCK_KINDS)[number];

/** One lockout as an operator sees it: wrong codes since the last correct one, and until when it refuses. */
export interface LockView {
  failures: number;
  /** Epoch ms while a lock runs, else null. */
  lockedUntil: number | null;
}

/**
 * The blocking call's wait on a session the Subscriber hosts: a WebSocket upgrade to this URL
 * on the number's stub (the same exchange as auth-session/contract.ts WAIT_URL).
 */
const WAIT_BASE = "https://subscriber.internal/sessions/";
export const sessionWaitUrl = (name: string) => `${WAIT_BASE}${name}/wait`;

/**
 * The blocking call's start and wait in one request (authenticate.ts): a WebSocket upgrade to
 * this URL carries what startSession() takes in the START_HEADER (a POST's body does not
 * reach an upgrade). The object admits and starts the session; a pending one gets the socket
 * (101, the answer in the same header) and its outcome comes on it as on the wait URL.
 * Anything else (refused, ended at once, or ended before the socket could be listed) is
 * answered 200 with the answer as JSON, and the caller waits the usual way if still pending.
 */
export const SESSION_START_URL = `${WAIT_BASE}start`;
export const START_HEADER = "x-session-start";

/** What startSession() takes. */
export interface SessionStartArgs {
  limits: RateLimits;
  claim: PendingClaim;
  init: SessionInit;
}

/** What startSession() answers: the number's admission and, if admitted, the session's start. */
export interface SessionStartAnswer {
  admitted: AdmitResult;
  started?: { status: SessionStatus; channel: Channel };
}

/** Header values are Latin-1: the texts (any script) go percent-encoded. */
export const encodeStartArgs = (args: SessionStartArgs): string => encodeURIComponent(JSON.stringify(args));

/** The arguments a start request carries, or null when it carries none that parse. */
export function decodeStartArgs(header: string | null): SessionStartArgs | null {
  if (!header) return null;
  try {
    const args = JSON.parse(decodeURIComponent(header)) as Partial<SessionStartArgs> | null;
    return args && typeof args === "object" && args.limits && args.claim && args.init ? (args as SessionStartArgs) : null;
  } catch {
    return null;
  }
}

/** The session a wait URL names, or null. */
export function sessionFromWaitUrl(url: string): string | null {
  if (!url.startsWith(WAIT_BASE) || !url.endsWith("/wait")) return null;
  const name = url.slice(WAIT_BASE.length, -"/wait".length);
  return /^[0-9a-f]{64}$/.test(name) ? name : null;
}

/** The session behind a challenge; `hosted`: the Subscriber asked hosts it (else an AuthSession object of its own). */
export interface ChallengeSession {
  session: string;
  hosted: boolean;
  device: AnsweringDevice;
}
