/**
 * The session's state machine, pure: each event over a pending session gives the new state,
 * the caller's result and the effects to carry out. No I/O, no clock, no randomness: the
 * object passes `now`, fresh tokens and the results of its constant-time comparisons.
 */
import type { AnswerClaims } from "../../../core/contracts/app-api";
import type { FinalStatus } from "../../../core/codes";
import { acceptOffered, judgeAnswer, withoutApp } from "../../../core/match-policy";
import type { SmsMessage } from "../../sms/provider";
import type { AppDecideOutcome, AppView, AssistedInit, ChooseOutcome, DecideOutcome, SessionInit } from "../auth-session/contract";
import { type Effect, type PushOutcome, type Step, logEffect } from "./effects";
import {
  type AnsweredBy,
  type ChallengeRole,
  type Finished,
  type Pending,
  type SessionState,
  approverOf,
  assistedInitOf,
  isRequester,
  matchSetup,
  phaseOf,
  userLinkPage,
  withNonce,
} from "./state";
import { TAP_POLICY, approvalVerdict } from "../../../core/user-verification";
import type { AnsweringDevice, UvProof } from "../subscriber/contract";
import {
  ACCEPT_IN_APP_ONLY,
  appView,
  approverAnswerText,
  approverAsk,
  approverChoices,
  approverPendingView,
  assistedView,
  userAnswerText,
} from "./views";

/** The secrets of a new approver link: `token` goes into the link only, `hash` names its alias. */
export interface ApproverLinkSecrets {
  token: string;
  hash: string;
  csrf: string;
}

/** An SMS before its recipient is known to the caller: the user's is the session's number. */
export type SmsContent = Omit<SmsMessage, "to">;

const unchanged = <R>(state: SessionState, result: R): Step<R> => ({ state, effects: [], result });

/** A new session: SMS first, until a delivered push says otherwise (userPushed). */
export function create(init: SessionInit, now: number, fresh: { csrf: string; choices: number[] | null }): Pending {
  return {
    status: "pending",
    createdAt: now,
    expiresAt: now + init.timeoutMs,
    purgeAt: null,
    tombstoneMs: init.tombstoneMs,
    endpoint: init.endpoint,
    leaseShard: init.leaseShard,
    ...(init.leaseId ? { leaseId: init.leaseId } : {}),
    name: init.name,
    channel: "sms",
    msisdn: init.msisdn,
    texts: init.texts,
    csrf: fresh.csrf,
    activation: init.app.activation,
    pushGraceMs: init.app.push?.graceMs ?? null,
    matchNumber: init.app.matchNumber,
    choices: fresh.choices ?? undefined,
    callerShowsNumber: init.app.callerShowsNumber,
    smsDue: null,
    ...(init.app.approval && init.app.approval.approval !== "tap" ? { approval: init.app.approval } : {}),
    ...(init.assisted ? { assisted: { ...init.assisted, phase: "user" as const } } : {}),
    ...(init.notify ? { notify: init.notify } : {}),
  };
}

/**
 * A push (the user's or the approver's) went to a device that verifies its user, and the
 * endpoint asks for that: a one-tap Accept on the SMS link would go around it, so only the app
 * may accept (acceptInApp on the state or on the asked approver).
 */
function acceptOnlyInApp(state: Pending, pushed: PushOutcome): { acceptInApp?: true } {
  return pushed.userVerifying && state.approval?.approval === "user-verification" ? { acceptInApp: true } : {};
}

/** After the push at the start (null: none), the SMS link now, later (smsDue) or also now. */
export function userPushed(state: Pending, pushed: PushOutcome | null, content: SmsContent, now: number): Step<null> {
  const sms = { to: state.msisdn, ...content };
  // The challenge exists either way: an app opened by hand can still answer it.
  const withPush: Pending = pushed
    ? {
        ...state,
        push: { challengeId: pushed.challenge.challengeId, nonces: {} },
        ...acceptOnlyInApp(state, pushed),
      }
    : state;
  const grace = state.pushGraceMs;
  if (!pushed?.delivered || grace === null) {
    const effects: Effect[] = [];
    let next = withPush;
    // No app holds the challenge: a number only the link page would show matches nothing.
    if (!pushed && withoutApp(matchSetup(state)).matchNumber !== state.matchNumber) {
      effects.push(logEffect("info", "number_matching_off", { endpoint: state.endpoint, reason: "no_app" }));
      next = { ...next, matchNumber: null, choices: undefined };
    }
    effects.push({ kind: "send_sms", sms, onFailure: { event: "delivery_failed", finish: "failed_delivery" } });
    return { state: next, effects, result: null };
  }
  if (state.matchNumber !== null && !state.callerShowsNumber) {
    // The number to pick is shown only on the SMS link page, so the user needs it now.
    const effect: Effect = { kind: "send_sms", sms, onFailure: { event: "delivery_failed", finish: null } };
    return { state: { ...withPush, channel: "push+sms" }, effects: [effect], result: null };
  }
  return { state: { ...withPush, channel: "push", smsDue: { at: now + grace, ...content } }, effects: [], result: null };
}

/**
 * The user's answer on the link page. Single use: only the first valid answer counts. With
 * number matching an Accept counts only with the right `pick`, on a page that offers one.
 */
export function decide(
  state: Pending,
  answer: { decision: "accept" | "reject"; pick?: number; csrfValid: boolean },
  now: number,
): Step<DecideOutcome> {
  if (!answer.csrfValid) return unchanged(state, { kind: "forbidden" });
  // The user answered already (single use): show where the sign-in stands, change nothing.
  if (state.assisted && state.assisted.phase !== "user") return unchanged(state, assistedView(state, state.assisted));
  const page = userLinkPage(state);
  const { status, mismatch } = judgeAnswer(state.matchNumber, answer.decision, answer.pick, acceptOffered(page));
  const refused = page.kind === "in_app" ? "accept_not_in_app" : "number_mismatch";
  const logged = mismatch ? [logEffect("warn", refused, { channel: "link", endpoint: state.endpoint })] : [];
  if (state.assisted && status === "accepted") {
    const assisted = { ...state.assisted, phase: "choose_approver" as const };
    return { state: { ...state, assisted }, effects: logged, result: assistedView(state, assisted) };
  }
  const finished = finish(state, status, now);
  const text = page.kind === "in_app" && mismatch ? ACCEPT_IN_APP_ONLY : userAnswerText(state.texts, status, mismatch);
  return { ...finished, effects: [...logged, ...finished.effects], result: { kind: "decided", status, text } };
}

/**
 * A device fetched the challenge details: a fresh single-use nonce for it; its earlier ones
 * stop working (the number's other devices keep theirs).
 */
export function issueNonce(state: Pending, role: ChallengeRole, device: AnsweringDevice, nonce: string): Step<AppView> {
  return unchanged(withNonce(state, role, device.id, nonce), appView(state, role, nonce, device.uv));
}

/**
 * The app's answer, whose device signature the Subscriber checked and whose challenge (`role`)
 * and nonce the object compared. The nonce is consumed before anything else; with number
 * matching an Accept with the wrong pick is a rejection (someone may be trying to get a blind
 * approval). With Assisted Login the user's Accept leads to the approver pick (in the same
 * answer as `a`, or in a next one), and the approver's own app answer decides.
 */
export function appDecide(
  state: Pending,
  answer: { role: ChallengeRole | null; nonceValid: boolean; claims: AnswerClaims; device: AnsweringDevice; uv: UvProof },
  fresh: { nonce: string; approverLink: ApproverLinkSecrets },
  now: number,
): Step<AppDecideOutcome> {
  const { role, claims, device } = answer;
  if (!role) return unchanged(state, { kind: "not_found" });
  if (!answer.nonceValid) return unchanged(state, { kind: "stale_nonce" });
  // User verification before anything counts: a refused Accept leaves the session as it was.
  const verdict = approvalVerdict(state.approval ?? TAP_POLICY, claims.d, device.uv, answer.uv);
  if (verdict !== "ok") {
    const logged = logEffect("warn", "app_answer_refused", {
      endpoint: state.endpoint,
      reason: verdict,
      uv: answer.uv,
      device: device.id.slice(0, 8),
    });
    return { state, effects: [logged], result: { kind: verdict } };
  }
  const consumed = withNonce(state, role, device.id, null);
  const answeredBy = { deviceId: device.id, name: device.name };
  if (role === "approver") {
    const status = claims.d === "accept" ? "accepted" : "rejected";
    const text = approverAnswerText(status);
    return { ...finish(consumed, status, now, answeredBy), result: { kind: "decided", status, numberMismatch: false, text } };
  }
  const phase = phaseOf(consumed);
  if (phase === "approver_pending") return unchanged(consumed, { kind: "not_found" }); // the user's part is done
  const expected = phase === "choose_approver" ? null : consumed.matchNumber;
  const { status, mismatch } = judgeAnswer(expected, claims.d, claims.m);
  if (status === "accepted" && consumed.assisted) {
    const init = assistedInitOf(consumed.assisted);
    const choosing: Pending = {
      ...consumed,
      // The user's own SMS fallback is moot now; the approver step may still use the link page.
      smsDue: phase === "user" ? null : consumed.smsDue,
      assisted: { ...init, phase: "choose_approver" },
    };
    if (claims.a !== undefined) return pickApprover(choosing, init, claims.a, fresh.approverLink, now);
    const result = { kind: "choose_approver" as const, title: state.texts.title, approvers: approverChoices(choosing), nonce: fresh.nonce };
    return unchanged(withNonce(choosing, "user", device.id, fresh.nonce), result);
  }
  const text = userAnswerText(state.texts, status, mismatch);
  return { ...finish(consumed, status, now, answeredBy), result: { kind: "decided", status, numberMismatch: mismatch, text } };
}

/** Assisted Login: the user's pick on the link page (same CSRF token as their answer). */
export function chooseApprover(
  state: Pending,
  choice: { approverId: string; csrfValid: boolean },
  approverLink: ApproverLinkSecrets,
  now: number,
): Step<ChooseOutcome> {
  const assisted = state.assisted;
  if (!assisted || !choice.csrfValid || assisted.phase === "user") return unchanged(state, { kind: "forbidden" });
  if (assisted.phase === "approver_pending") return unchanged(state, approverPendingView(state, assisted.approver));
  const picked = pickApprover(state, assisted, choice.approverId, approverLink, now);
  if (picked.result.kind !== "asked") return { ...picked, result: picked.result };
  return { ...picked, result: { ...picked.result, title: state.texts.title } };
}

/**
 * The user (who accepted, on the link page or in the app) picked an approver. An id not in
 * the list or the user themselves (their number, or a name of the requester's: isRequester)
 * ends the session as invalid_approver (as does an approver who cannot be reached, see
 * ask_approver). Otherwise the approver gets a single-use link of
 * their own, and a push first if they have the app (the link follows after the grace period).
 */
function pickApprover(
  state: Pending,
  assisted: AssistedInit,
  approverId: string,
  secrets: ApproverLinkSecrets,
  now: number,
): Step<{ kind: "asked"; approverName: string } | { kind: "finished"; status: FinalStatus }> {
  const approver = assisted.approvers.find((a) => a.id === approverId);
  if (!approver || isRequester(state, approver)) {
    const logged = logEffect("warn", "invalid_approver", { endpoint: state.endpoint, reason: approver ? "self" : "unknown_id" });
    const finished = finish(state, "invalid_approver", now);
    return { ...finished, effects: [logged, ...finished.effects], result: { kind: "finished", status: finished.result } };
  }
  const asked = { name: approver.name, msisdn: approver.msisdn, link: secrets.hash, csrf: secrets.csrf };
  // Stored before anything is sent: a restart from here on is in approver_pending.
  const next: Pending = { ...state, smsDue: null, assisted: { ...assisted, phase: "approver_pending", approver: asked } };
  const url = `${assisted.linkBase}/m/${secrets.token}`;
  const effects: Effect[] = [];
  // The user's part is answered: their app stops offering the challenge.
  if (state.push) effects.push({ kind: "close_challenge", msisdn: state.msisdn, session: state.name });
  effects.push({
    kind: "ask_approver",
    alias: { target: state.name, self: secrets.hash, purgeAt: state.expiresAt + state.tombstoneMs },
    sms: { to: approver.msisdn, text: `${state.texts.title}: ${approverAsk(state)}\n${url}`, link: url },
  });
  return { state: next, effects, result: { kind: "asked", approverName: approver.name } };
}

/**
 * After the push to the asked approver (null: push off or no app): the SMS link waits for the
 * grace period only if the push went out; else it goes now, and if it cannot, nobody can approve.
 */
export function approverPushed(state: Pending, pushed: PushOutcome | null, sms: SmsMessage, now: number): Step<null> {
  const assisted = approverOf(state);
  if (!assisted) return unchanged(state, null);
  const grace = state.pushGraceMs;
  const due = pushed?.delivered && grace !== null ? { at: now + grace, ...sms } : null;
  // The challenge exists either way (as for users): an app opened by hand can answer it.
  const approver = pushed
    ? {
        ...assisted.approver,
        push: { challengeId: pushed.challenge.challengeId, nonces: {} },
        ...acceptOnlyInApp(state, pushed),
      }
    : assisted.approver;
  const next: Pending = { ...state, smsDue: due ?? state.smsDue, assisted: { ...assisted, approver } };
  if (due) return unchanged(next, null);
  const onFailure = { event: "approver_delivery_failed", finish: "invalid_approver" } as const;
  return { state: next, effects: [{ kind: "send_sms", sms, onFailure }], result: null };
}

/** The approver's answer on their link page: it decides the session (single use like any answer). */
export function approverDecide(
  state: Pending,
  answer: { decision: "accept" | "reject"; linkValid: boolean; csrfValid: boolean },
  now: number,
): Step<DecideOutcome> {
  const approver = approverOf(state)?.approver;
  if (!approver || !answer.linkValid) return unchanged(state, { kind: "not_found" });
  if (!answer.csrfValid) return unchanged(state, { kind: "forbidden" });
  // An Accept the link does not offer (acceptInApp) rejects, as the user's does.
  const refused = answer.decision === "accept" && approver.acceptInApp === true;
  const status = answer.decision === "accept" && !refused ? "accepted" : "rejected";
  const finished = finish(state, status, now);
  const logged = refused ? [logEffect("warn", "accept_not_in_app", { channel: "link", role: "approver", endpoint: state.endpoint })] : [];
  return { ...finished, effects: [...logged, ...finished.effects], result: { kind: "decided", status, text: approverAnswerText(status) } };
}

/** What a deadline means: with the user's Accept but no approver picked, NO_APPROVER_SELECTED. */
export function expire(state: Pending, now: number): Step<FinalStatus> {
  return finish(state, phaseOf(state) === "choose_approver" ? "no_approver_selected" : "expired", now);
}

/**
 * Ends the session: only a tombstone stays (no numbers, texts or secrets), to be purged after
 * its retention. The object stores it before the effects run, so no one hears of an answer a
 * crash could still undo.
 */
export function finish(state: Pending, status: FinalStatus, now: number, answeredBy?: AnsweredBy): Step<FinalStatus> {
  const { createdAt, expiresAt, tombstoneMs, endpoint, leaseShard, leaseId, name, channel } = state;
  const tombstone: Finished = {
    status,
    createdAt,
    expiresAt,
    purgeAt: now + tombstoneMs,
    tombstoneMs,
    endpoint,
    leaseShard,
    ...(leaseId ? { leaseId } : {}),
    name,
    channel,
    ...(answeredBy ? { answeredBy } : {}),
  };
  // The approver's entry too, also when the push did not go out: approverTarget opened it anyway.
  const approver = approverOf(state)?.approver;
  const msisdns = approver ? [state.msisdn, approver.msisdn] : [state.msisdn];
  const effects: Effect[] = [
    { kind: "notify_waiters", status, leaseShard, ...(leaseId ? { leaseId } : {}) },
    { kind: "release", session: name, leaseShard, ...(leaseId ? { leaseId } : {}), msisdns },
  ];
  if (state.notify) effects.push({ kind: "notify_async", asyncName: state.notify, status, ...(answeredBy ? { answeredBy } : {}) });
  return { state: tombstone, effects, result: status };
}

/** The single alarm fired: expiry, the owed SMS, or the tombstone's purge (null state: delete). */
export function wake(state: SessionState, now: number): { state: SessionState | null; effects: Effect[] } {
  if (state.status !== "pending") return { state: now >= state.purgeAt ? null : state, effects: [] };
  if (now >= state.expiresAt) return expire(state, now);
  const due = state.smsDue;
  if (!due || now < due.at) return { state, effects: [] };
  const to = due.to;
  // Cleared before sending, so a retried alarm cannot send the SMS twice.
  const next: Pending = { ...state, smsDue: null, channel: to ? state.channel : "push+sms" };
  return {
    state: next,
    effects: [
      logEffect("info", "push_grace_elapsed", { endpoint: state.endpoint, role: to ? "approver" : "user" }),
      {
        kind: "send_sms",
        sms: { to: to ?? state.msisdn, text: due.text, link: due.link },
        onFailure: { event: "delivery_failed", finish: null },
      },
    ],
  };
}

/** The one alarm time: the earliest of the owed SMS and the expiry, or the tombstone's purge. */
export function nextWake(state: SessionState): number {
  if (state.status !== "pending") return state.purgeAt;
  return Math.min(state.smsDue?.at ?? Number.POSITIVE_INFINITY, state.expiresAt);
}
