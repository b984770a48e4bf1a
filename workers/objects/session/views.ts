/**
 * What each party sees of a pending session (pure): the user's link page, the Assisted Login
 * steps, the approver's page, the app's challenge details, and the texts shown after an answer.
 */
import { TAP_POLICY, deviceApproval } from "../../../core/user-verification";
import type { Texts } from "../../config/schema";
import type { ApproverChoice } from "../../../core/contracts/app-api";
import { maskMsisdn } from "../../../core/msisdn";
import type { AppView, ApproverPendingView, ApproverView, ChooseApproverView, SessionView } from "../auth-session/contract";
import { type AskedApprover, type AssistedAfterUser, type ChallengeRole, type Pending, isRequester, userLinkPage } from "./state";

export const APPROVER_ACCEPTED = "Thank you. The sign-in was approved.";
export const APPROVER_REJECTED = "Thank you. The sign-in was rejected.";
export const NUMBER_MISMATCH = "The number did not match, so the sign-in was rejected.";
/** An Accept posted to a link page that offers none (user verification: the app accepts). */
export const ACCEPT_IN_APP_ONLY = "This sign-in can only be approved in the authenticator app, so it was rejected.";

/** The text after the user's answer; a mismatched number says why the Accept did not count. */
export function userAnswerText(texts: Texts, status: "accepted" | "rejected", mismatch: boolean): string {
  if (mismatch) return NUMBER_MISMATCH;
  return status === "accepted" ? texts.touchAccept : texts.touchReject;
}

export function approverAnswerText(status: "accepted" | "rejected"): string {
  return status === "accepted" ? APPROVER_ACCEPTED : APPROVER_REJECTED;
}

/** The user's link page; after their Accept in Assisted Login, the step they are at. */
export function linkPageView(state: Pending): SessionView {
  if (state.assisted && state.assisted.phase !== "user") return assistedView(state, state.assisted);
  return {
    kind: "pending",
    texts: state.texts,
    csrf: state.csrf,
    expiresAt: state.expiresAt,
    activation: state.activation,
    match: userLinkPage(state),
  };
}

export function assistedView(state: Pending, assisted: AssistedAfterUser): ChooseApproverView | ApproverPendingView {
  if (assisted.phase === "approver_pending") return approverPendingView(state, assisted.approver);
  return { kind: "choose_approver", title: state.texts.title, csrf: state.csrf, approvers: approverChoices(state) };
}

export function approverPendingView(state: Pending, approver: AskedApprover): ApproverPendingView {
  return { kind: "approver_pending", title: state.texts.title, approverName: approver.name };
}

/** Names and opaque ids only (never numbers or usernames); the user themselves is not offered (isRequester). */
export function approverChoices(state: Pending): ApproverChoice[] {
  const approvers = state.assisted?.approvers ?? [];
  return approvers.filter((a) => !isRequester(state, a)).map((a) => ({ id: a.id, name: a.name }));
}

/** What the approver is asked (SMS, link page, app): the user's number, masked. */
export function approverAsk(state: Pending): string {
  const what = state.assisted?.purpose === "password-reset" ? "a password reset" : "a sign-in";
  return `${maskMsisdn(state.msisdn)} asks you to approve ${what}.`;
}

/** The approver's page, reached through their link's alias object. */
export function approverView(state: Pending, approver: AskedApprover): ApproverView {
  return {
    kind: "approver",
    title: state.texts.title,
    text: approverAsk(state),
    buttonAccept: state.texts.buttonAccept,
    buttonReject: state.texts.buttonReject,
    csrf: approver.csrf,
    acceptInApp: approver.acceptInApp === true,
  };
}

/** Challenge details for the user's or the approver's app, carrying the fresh nonce. */
export function appView(state: Pending, role: ChallengeRole, nonce: string, deviceHasUv = false): AppView {
  const texts = state.texts;
  const common = {
    title: texts.title,
    buttonAccept: texts.buttonAccept,
    buttonReject: texts.buttonReject,
    nonce,
    expiresAt: state.expiresAt,
    approval: deviceApproval(state.approval ?? TAP_POLICY, deviceHasUv),
  };
  if (role === "approver") {
    return { kind: "pending", role, step: "answer", text: approverAsk(state), choices: null, approvers: null, ...common };
  }
  const choosing = state.assisted?.phase === "choose_approver";
  return {
    kind: "pending",
    role,
    step: choosing ? "choose_approver" : "answer",
    text: texts.authentication,
    choices: choosing ? null : (state.choices ?? null),
    approvers: state.assisted ? approverChoices(state) : null,
    ...common,
  };
}
