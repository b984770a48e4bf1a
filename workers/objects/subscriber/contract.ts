/** What callers of a Subscriber object get and give: its RPC arguments and results. */
import type { AnswerClaims, PushSubscriptionJson } from "../../../core/contracts/app-api";
import type { FailureOutcome } from "../../../core/offline-lockout";

export type OtpVerdict = "accept" | "reject" | "expired" | "locked";

/** An offline-code check; `lockout` is set when this check started or lengthened a lock. */
export interface OfflineCheck {
  verdict: OtpVerdict;
  lockout: FailureOutcome["locked"];
}

export type AdmitResult =
  | { allowed: true; retryAfterMs: 0 }
  | { allowed: false; reason: "rate_limited" | "too_many_pending"; retryAfterMs?: number };

export interface PendingClaim {
  /** Name of the AuthSession object. */
  session: string;
  /** When the entry lapses on its own, should the session never release it. */
  until: number;
  cap: number;
}

export type ActivateResult =
  | { ok: true; kind: "activated"; deviceId: string; seed: string }
  /** The number has a device: the new one takes over at `effectiveAt` unless `replaced` refuses. */
  | { ok: true; kind: "replacement_pending"; deviceId: string; effectiveAt: number; replaced: DeviceRef }
  | { ok: false; reason: "invalid_token" | "wrong_code" };

/** Enough of the current device to notify it (its push subscription) and to name it in logs. */
export interface DeviceRef {
  id: string;
  subscription: PushSubscriptionJson | null;
}

export type ClaimResult =
  /** `replaced`: this claim made it the number's device (false: a repeated claim). */
  | { kind: "activated"; seed: string; replaced: boolean }
  | { kind: "waiting"; effectiveAt: number }
  | { kind: "unknown_device" }
  | { kind: "refused" };

export type DeviceUpdateResult = "updated" | "removed" | "replacement_refused" | "refused";

export interface PushTarget {
  deviceId: string;
  challengeId: string;
  subscription: PushSubscriptionJson;
}

export type AnswerCheck =
  | { ok: true; session: string; claims: AnswerClaims }
  | { ok: false; reason: "unknown_device" | "bad_signature" | "unknown_challenge" };

/** The number's wrong-code lockouts, by kind: offline codes (TOTP, signed challenges) and SMS OTP. */
export const LOCK_KINDS = ["offline", "smsOtp"] as const;
export type LockKindName = (typeof LOCK_KINDS)[number];

/** One lockout as an operator sees it: wrong codes since the last correct one, and until when it refuses. */
export interface LockView {
  failures: number;
  /** Epoch ms while a lock runs, else null. */
  lockedUntil: number | null;
}
