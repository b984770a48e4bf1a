import type { z } from "zod";
import type { AppDecideOutcome, AppView } from "../../durable-objects/auth-session";
import type { ActivateBodySchema } from "../lib/app-schemas";
import { randomToken, sha256Hex } from "../lib/tokens";

/**
 * The authenticator app's flows across the two objects involved: the Subscriber (one per
 * number: device, signatures, challenge index) and the AuthSession (one per sign-in).
 * Routes validate; this decides who is asked what, in which order.
 */

/** How long an activation token from the SMS link page stays usable. */
export const ACTIVATION_TTL_MS = 10 * 60_000;

/** Issues a one-time activation token for the holder of a live SMS link. */
export async function issueActivationToken(env: Env, sessionName: string, csrf: string) {
  const grant = await env.AUTH_SESSION.getByName(sessionName).activationGrant(csrf);
  if (grant.kind !== "granted") return grant;
  const token = randomToken();
  await env.SUBSCRIBER.getByName(grant.msisdn).grantActivation(await sha256Hex(token), Date.now() + ACTIVATION_TTL_MS);
  return { kind: "granted" as const, token, msisdn: grant.msisdn };
}

export async function activateDevice(env: Env, body: z.output<typeof ActivateBodySchema>) {
  return env.SUBSCRIBER.getByName(body.msisdn).activate(await sha256Hex(body.token), body.publicKey, body.subscription);
}

export async function challengeDetails(
  env: Env,
  msisdn: string,
  deviceId: string,
  challengeId: string,
): Promise<AppView> {
  const session = await env.SUBSCRIBER.getByName(msisdn).challengeSession(deviceId, challengeId);
  if (!session) return { kind: "not_found" };
  return env.AUTH_SESSION.getByName(session).appView(challengeId);
}

export type AnswerOutcome =
  | AppDecideOutcome
  | { kind: "unknown_device" }
  | { kind: "bad_signature" }
  | { kind: "unknown_challenge" };

/** Signature first (Subscriber holds the device key), then the session decides. */
export async function answerChallenge(env: Env, msisdn: string, deviceId: string, jws: string): Promise<AnswerOutcome> {
  const check = await env.SUBSCRIBER.getByName(msisdn).checkAnswer(deviceId, jws);
  if (!check.ok) return { kind: check.reason };
  return env.AUTH_SESSION.getByName(check.session).appDecide(check.claims);
}
