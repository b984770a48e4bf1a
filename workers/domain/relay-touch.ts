import type { z } from "zod";
import type { Config, Endpoint } from "../config/schema";
import { AuthQuerySchema, type AuthQuery } from "../../core/contracts/magic-link";
import type { RELAY_CALLS, RelayAnswer, WhoSchema } from "../../core/contracts/relay-api";
import { authenticate } from "./authenticate";

/**
 * One relay Touch login (a single Touch call, or one login of a batched one), with who logs in:
 * the blocking Magic Link session for its number, and what the relay and the audit get from it.
 */
export type TouchLogin = z.output<(typeof RELAY_CALLS)["touch"]["request"]> & z.output<typeof WhoSchema>;

export interface TouchResult {
  answer: RelayAnswer<"touch">;
  /** The audit row's result and detail (the app device that answered, if one did). */
  result: string;
  detail: Record<string, unknown>;
}

/** The Magic Link parameters a relay Touch asks for (its timeout and text; the rest is the endpoint's). */
export function touchAuthQuery(login: TouchLogin): AuthQuery {
  return AuthQuerySchema.parse({
    msisdn: login.msisdn,
    ...(login.timeoutSeconds ? { "touch-timeout": String(login.timeoutSeconds) } : {}),
    ...(login.authenticationText ? { "authentication-text": login.authenticationText } : {}),
  });
}

/** Runs the login's session to its end (the number must be pin-checked before); `background`: the request's waitUntil. */
export async function runRelayTouch(
  env: Env,
  config: Config,
  endpoint: Endpoint,
  login: TouchLogin,
  publicOrigin: string,
  background: (work: Promise<unknown>) => void,
): Promise<TouchResult> {
  // The relay names who signs in: on an Assisted Login endpoint they cannot approve themselves under another number.
  const outcome = await authenticate(env, config, endpoint, touchAuthQuery(login), publicOrigin, {
    background,
    requesterUsernames: [login.username],
  });
  // A BAD_REQUEST also says why (for the edge's own logs; the relay reads `code`).
  if (outcome.code === "BAD_REQUEST") return { answer: { code: outcome.code, reason: outcome.reason }, result: outcome.code, detail: {} };
  // The app device that answered, if one did (several devices per number).
  return { answer: { code: outcome.code }, result: outcome.code, detail: outcome.device ? { device: outcome.device } : {} };
}
