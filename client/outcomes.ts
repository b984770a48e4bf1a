/**
 * What each answer from the edge means on screen (pure, unit-tested in
 * test/worker/unit/app-outcomes.test.ts): the texts and the next step, apart from the DOM.
 */
import type { AnswerResponse } from "../core/contracts/app-api";
import { ApiError } from "./api";

/** `POST /app/api/pending`: the requests this device should see, and its push and replacement state. */
export interface PendingResponse {
  challenges: string[];
  push: boolean;
  replacement?: Replacement;
}

/** Another device asked to join the number's devices, effective at `effectiveAt` unless refused. */
export interface Replacement {
  /** The name it gave itself (absent from an edge of an earlier release). */
  name?: string;
  requestedAt: number;
  effectiveAt: number;
}

export interface PendingDisplay {
  pushStatus: string;
  /** Offer the button that turns notifications on (only where the browser can push). */
  offerPush: boolean;
  /** The first pending challenge, to open. */
  challengeId: string | undefined;
}

export function pendingDisplay(pending: PendingResponse, browserCanPush: boolean): PendingDisplay {
  return {
    pushStatus: pending.push ? "Notifications on: sign-in requests arrive here." : "Notifications off: sign-in requests come by SMS.",
    offerPush: !pending.push && browserCanPush,
    challengeId: pending.challenges[0] || undefined,
  };
}

/** The result screen after a final answer (choose_approver is a next step, not a result). */
export function answerResult(response: Exclude<AnswerResponse, { status: "choose_approver" }>): { title: string; text: string } {
  if (response.status === "asked") {
    return { title: "Approver asked", text: `We asked ${response.approverName} to approve your sign-in. You can close the app.` };
  }
  return {
    title: response.numberMismatch ? "Wrong number" : response.status === "accepted" ? "Approved" : "Rejected",
    text: response.text,
  };
}

/** An Accept the edge refused for want of user verification: what to tell (the request stays open). */
export function uvRefusalText(error: unknown): string | null {
  const code = error instanceof ApiError ? error.body.error : undefined;
  if (code === "uv_required") return "Confirm with your fingerprint, face or device PIN to approve. Nothing was approved yet: try again.";
  if (code === "uv_unavailable") {
    return "This service needs fingerprint, face or PIN confirmation, which this device does not have. Approve on another device, or Reject.";
  }
  return null;
}

/** An answer the edge did not take: the result screen's text ("Not counted"). */
export function answerFailureText(error: unknown): string {
  const result = error instanceof ApiError ? error.body.result : undefined;
  return result === "invalid_approver"
    ? "That approver could not be asked, so the sign-in was stopped. Start the sign-in again."
    : error instanceof ApiError && error.status === 410
      ? "This request was already answered or has expired."
      : "The answer did not go through.";
}

const LINK_USED = "This activation link was already used or has expired. Open a new sign-in SMS and try again.";

/** The activation link could not be checked: the result screen's text. */
export function activationLinkFailureText(error: unknown): string {
  return error instanceof ApiError && error.status === 403
    ? LINK_USED
    : "Could not check the activation link. Check your connection and reload.";
}

/** The activation did not go through: the error line's text. */
export function activationFailureText(error: unknown): string {
  const code = error instanceof ApiError ? error.body.error : undefined;
  if (code === "device_limit") {
    const max = error instanceof ApiError ? error.body.max : undefined;
    return `Your number already has the most devices allowed${typeof max === "number" ? ` (${max})` : ""}. Remove one in its app (or ask your help desk), then tap Activate again.`;
  }
  if (code === "webauthn_invalid") return "The fingerprint, face or PIN set-up did not check out. Try again.";
  return code === "wrong_code"
    ? "Wrong activation code. Check the SMS and try again."
    : error instanceof ApiError && error.status === 403
      ? LINK_USED
      : "Activation failed. Check your connection and try again.";
}
