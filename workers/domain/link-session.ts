import type { ChooseOutcome, DecideOutcome, SessionView } from "../objects/auth-session/contract";
import { issueActivationToken } from "./app-device";
import { onLinkSession } from "./session-address";

/**
 * The sign-in session behind an SMS link (/m/<token>): the token's route names the number
 * whose Subscriber hosts it, and its SHA-256 names the session there (or, for links of the
 * old shape and Assisted Login, the session's own object: session-address.ts). The token
 * itself is stored nowhere. A malformed token is a session that does not exist.
 */

/** What the link page shows (GET only renders: link scanners prefetch links). */
export function viewByLink(env: Env, token: string): Promise<SessionView> {
  return onLinkSession(env, token, (session) => session.view());
}

/** The answer posted from the link page; `pick` is the number tapped when the page offers number matching. */
export function decideByLink(env: Env, token: string, decision: "accept" | "reject", csrf: string, pick?: number): Promise<DecideOutcome> {
  return onLinkSession(env, token, (session) => session.decide(decision, csrf, pick));
}

/** Assisted Login: the user's pick of an approver (an opaque id, checked by the session). */
export function chooseApproverByLink(env: Env, token: string, csrf: string, approverId: string): Promise<ChooseOutcome> {
  return onLinkSession(env, token, (session) => session.chooseApprover(csrf, approverId));
}

/** "Use the app instead": an activation token for the holder of the live link (see issueActivationToken). */
export function activateByLink(env: Env, token: string, csrf: string) {
  return onLinkSession(env, token, (session) => issueActivationToken(env, session, csrf));
}
