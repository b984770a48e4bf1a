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

/** Notification.permission (spelled out: this module is also compiled without the DOM types, for its unit test). */
export type NotifyPermission = "default" | "denied" | "granted";

export interface PendingDisplay {
  pushStatus: string;
  /** Offer the button that turns notifications on (only where the browser can push and may ask). */
  offerPush: boolean;
  /** The first pending challenge, to open. */
  challengeId: string | undefined;
}

/**
 * `permission`: the browser's notification permission ("denied" means the user or the browser
 * blocked notifications for this site: the app cannot ask again, only the site settings can).
 */
export function pendingDisplay(pending: PendingResponse, browserCanPush: boolean, permission?: NotifyPermission): PendingDisplay {
  return {
    pushStatus: pending.push ? "Notifications on: sign-in requests arrive here." : "Notifications off: sign-in requests come by SMS.",
    offerPush: !pending.push && browserCanPush && permission !== "denied",
    challengeId: pending.challenges[0] || undefined,
  };
}

/** What to do when notifications are off (null: they are on, nothing to do). */
export function pushHelp(push: boolean, browserCanPush: boolean, permission: NotifyPermission | undefined): string | null {
  if (!browserCanPush) {
    return "This browser cannot show notifications, so sign-in requests come by SMS. The one-time code works here all the same. On an iPhone, add this app to the home screen first (Share, then Add to Home Screen) and open it from there.";
  }
  if (permission === "denied") {
    return "Notifications are blocked for this site in the browser. To get sign-in requests here: open the site settings (the icon left of the address, or the browser's Settings, then Site settings, then Notifications), allow notifications for this site, and reopen the app. Until then they come by SMS.";
  }
  if (!push) return "Tap “Turn on notifications” and allow them when the browser asks.";
  return null;
}

/** Why a poll failed, and what still works: the notice on the home screen. */
export function connectionNotice(error: unknown, online: boolean): string {
  if (!online || !(error instanceof ApiError)) {
    return "You are offline. Sign-in requests cannot reach this phone until it is back online, so they come by SMS meanwhile. The one-time code below works offline, and so does “Sign a challenge”.";
  }
  if (error.status === 429) {
    return "Too many requests from this network just now. The app tries again by itself; the one-time code below still works.";
  }
  if (error.status === 403 && error.body.error === "bad_signature") {
    return "The service did not accept this phone's request: check that the phone's date and time are set automatically. Sign-in requests may come by SMS meanwhile, and the one-time code below still works.";
  }
  return `The service answered with an error (HTTP ${error.status}). The app keeps trying; sign-in requests may come by SMS meanwhile, and the one-time code below still works.`;
}

/** The edge no longer knows this phone's device: the notice on the "Not activated" screen. */
export function forgottenDeviceText(msisdn: string): string {
  return `This phone is no longer activated for ${msisdn}: another phone took the number over, or the activation was removed (in the app or by your administrator). To use this phone again, activate it again below.`;
}

/** Asking for an activation SMS did not go through: the error line's text. */
export function activationRequestFailureText(error: unknown): string {
  if (!(error instanceof ApiError)) return "Could not ask for the SMS. Check your connection and try again.";
  if (error.status === 429) return "Too many activation requests from this network. Wait a minute and try again.";
  if (error.status === 404) {
    return "This service does not start activations from the app. Open the link in a sign-in SMS on this phone and tap “Use the app on this phone”.";
  }
  if (error.status === 400) return "That number was not accepted. Type it with + and the country code, for example +46701234567.";
  return `Could not ask for the SMS (HTTP ${error.status}). Try again in a minute.`;
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

const LINK_USED =
  "This activation link was already used or has expired (a link works for 10 minutes, and 3 wrong codes end it). Ask for a new activation SMS in the app, or open the link in a new sign-in SMS.";

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
