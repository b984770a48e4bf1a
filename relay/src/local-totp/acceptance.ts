import { isLocked, type LockoutState } from "../../../core/offline-lockout.ts";
import type { TotpCheck } from "../../../core/otp.ts";

/**
 * What one local TOTP code means, as pure logic over the token's stored state: a locked
 * token is not checked at all (no oracle while locked); a valid code of a step already used
 * is a replay; a valid code of a later step is accepted. Replays and wrong codes both count
 * towards the lockout.
 */
export type LocalVerdict = "accept" | "reject" | "replay" | "locked" | "no-token";

export interface StepState {
  /** The last accepted time step, or null before the first login. */
  lastStep: number | null;
  lockout: LockoutState;
}

/** Checks are refused, without looking at the code, while the token is locked. */
export function mayCheck(state: StepState, now: number): boolean {
  return !isLocked(state.lockout, now);
}

/** Each time step is accepted once per user: only a step after the last accepted one counts. */
export function stepAccepted(lastStep: number | null, step: number): boolean {
  return lastStep === null || step > lastStep;
}

/** The verdict of a code that was checked (the token was not locked). */
export function verdictOf(state: StepState, check: TotpCheck): "accept" | "reject" | "replay" {
  if (!check.valid) return "reject";
  return stepAccepted(state.lastStep, check.timeStep) ? "accept" : "replay";
}
