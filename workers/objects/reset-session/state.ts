/**
 * The reset's stored state and its transitions, pure (unit-tested): which phase, which flow
 * token the next form must carry, and when each step ends.
 */
import type { ResetAttach, ResetClaim, ResetInit, ResetOverReason, ResetSettle, ResetView } from "./contract";

export type Phase = "lookup" | "verifying" | "password" | "changing" | "done" | "over";

export interface ResetState extends ResetInit {
  phase: Phase;
  /**
   * The AuthSession proving the phone and the approval. For a user nothing was sent to, a
   * random name no session has: the page's every poll then makes the same calls for any
   * username. Only a reset with a number (a real session) can be approved.
   */
  authSession: string | null;
  msisdn: string | null;
  /** The token the next password form must carry; replaced on every use. */
  flow: string;
  attempts: number;
  /** The last refusal, shown on the password form, or the final message. */
  message: string | null;
  over: ResetOverReason | null;
}

/** Password submissions one reset may make (the directory's refusals let the user try again). */
export const MAX_ATTEMPTS = 5;

export function created(init: ResetInit, flow: string): ResetState {
  return { ...init, phase: "lookup", authSession: null, msisdn: null, flow, attempts: 0, message: null, over: null };
}

export function attached(state: ResetState, a: ResetAttach, decoy: string): ResetState {
  if (state.phase !== "lookup") return state;
  if (a.kind === "unavailable") return { ...state, phase: "over", over: "unavailable" };
  if (a.kind === "silent") return { ...state, phase: "verifying", authSession: decoy };
  return { ...state, phase: "verifying", authSession: a.authSession, msisdn: a.msisdn };
}

/**
 * Time and the approval outcome applied. Only an approval moves on early: a refusal, an
 * expiry or a failed delivery of a real user's session waits for the same deadline as an
 * unknown user's reset, so the pages of the two look alike until then.
 */
export function advanced(state: ResetState, now: number, approved: boolean, flow: string): ResetState {
  if (state.phase === "done" || state.phase === "over") return state;
  if (now >= state.expiresAt) return { ...state, phase: "over", over: "expired" };
  if (state.phase === "lookup" || state.phase === "verifying") {
    if (approved && state.phase === "verifying" && state.msisdn !== null) return { ...state, phase: "password", flow };
    if (now >= state.approvalDeadline) return { ...state, phase: "over", over: "not_approved" };
  }
  return state;
}

export function viewOf(state: ResetState): ResetView {
  const endpoint = state.endpoint;
  switch (state.phase) {
    case "lookup":
    case "verifying":
      return { kind: "waiting", endpoint, approvalDeadline: state.approvalDeadline };
    case "password":
      return {
        kind: "password",
        endpoint,
        username: state.username,
        site: state.site,
        flow: state.flow,
        expiresAt: state.expiresAt,
        message: state.message,
      };
    case "changing":
      return { kind: "changing", endpoint };
    case "done":
      return { kind: "done", endpoint };
    case "over":
      return { kind: "over", endpoint, reason: state.over ?? "failed", message: state.message };
  }
}

/** Constant-time string comparison (the flow token is a secret of the visitor's page). */
export function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A password form: the current flow token, once, in the password phase, before expiry. */
export function claimed(state: ResetState, flow: string, now: number, nextFlow: string): { state: ResetState; result: ResetClaim } {
  if (state.phase === "over") return { state, result: viewOf(state) as Extract<ResetView, { kind: "over" }> };
  if (state.phase !== "password" || !sameToken(flow, state.flow)) return { state, result: { kind: "refused" } };
  if (now >= state.expiresAt) {
    const over = { ...state, phase: "over" as const, over: "expired" as const };
    return { state: over, result: viewOf(over) as Extract<ResetView, { kind: "over" }> };
  }
  const next = { ...state, phase: "changing" as const, flow: nextFlow, attempts: state.attempts + 1 };
  return {
    state: next,
    result: { kind: "claimed", endpoint: state.endpoint, site: state.site, username: state.username, expiresAt: state.expiresAt },
  };
}

/** The relay's answer: done, back to the form with its message, or over. */
export function settled(state: ResetState, s: ResetSettle, now: number): ResetState {
  if (state.phase !== "changing") return state;
  if (s.changed) return { ...state, phase: "done", message: null };
  if (s.retry && state.attempts < MAX_ATTEMPTS && now < state.expiresAt) return { ...state, phase: "password", message: s.message };
  return { ...state, phase: "over", over: "failed", message: s.message };
}
