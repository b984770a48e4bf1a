import type { ChooseOutcome, DecideOutcome, SessionView } from "../objects/auth-session/contract";
import { isWellFormedToken, sha256Hex } from "../../core/tokens";
import { issueActivationToken } from "./app-device";
import { objectStub } from "../lib/durable-objects";

/**
 * The sign-in session behind an SMS link (/m/<token>): the session object is named by the
 * token's SHA-256, so the token itself is stored nowhere. A malformed token is a session that
 * does not exist.
 */
async function sessionName(token: string): Promise<string | null> {
  return isWellFormedToken(token) ? sha256Hex(token) : null;
}

const NOT_FOUND = { kind: "not_found" } as const;

/** What the link page shows (GET only renders: link scanners prefetch links). */
export async function viewByLink(env: Env, token: string): Promise<SessionView> {
  const name = await sessionName(token);
  return name ? objectStub(env, "AUTH_SESSION", name).view() : NOT_FOUND;
}

/** The answer posted from the link page; `pick` is the number tapped when the page offers number matching. */
export async function decideByLink(
  env: Env,
  token: string,
  decision: "accept" | "reject",
  csrf: string,
  pick?: number,
): Promise<DecideOutcome> {
  const name = await sessionName(token);
  return name ? objectStub(env, "AUTH_SESSION", name).decide(decision, csrf, pick) : NOT_FOUND;
}

/** Assisted Login: the user's pick of an approver (an opaque id, checked by the session). */
export async function chooseApproverByLink(env: Env, token: string, csrf: string, approverId: string): Promise<ChooseOutcome> {
  const name = await sessionName(token);
  return name ? objectStub(env, "AUTH_SESSION", name).chooseApprover(csrf, approverId) : NOT_FOUND;
}

/** "Use the app instead": an activation token for the holder of the live link (see issueActivationToken). */
export async function activateByLink(env: Env, token: string, csrf: string) {
  const name = await sessionName(token);
  return name ? issueActivationToken(env, name, csrf) : NOT_FOUND;
}
