import type { Config, Endpoint, Relay } from "../config/schema";
import { replayGuardName, verifyRelayRequest } from "../lib/relay-auth";
import { resolveEndpoint } from "../store/endpoints";
import { checkPinnedNumber } from "./number-pins";
import { objectStub } from "../lib/durable-objects";

/**
 * Admission of a relay API call, in two steps around the route's parsing of the body: who
 * signed it (and for which endpoint), then whether its token is fresh and the number it names
 * is the user's pinned one.
 */
export type RelayCaller = { relay: Relay; endpoint: Endpoint; jti: string; expiresAt: number };

export type RelayAuthentication =
  | { kind: "ok"; caller: RelayCaller }
  | { kind: "unauthorized"; reason: string }
  /** The relay's endpoint exists in no config: a deployment error, not the caller's. */
  | { kind: "endpoint_missing"; endpoint: string };

/** The request's relay token (bound to method, path and body, for this edge's `audience`), and the relay's endpoint. */
export async function authenticateRelayCall(
  env: Env,
  config: Config,
  request: { authorization: string | undefined; method: string; path: string; body: string; audience: string },
): Promise<RelayAuthentication> {
  const auth = await verifyRelayRequest(config, request.authorization, request.method, request.path, request.body, request.audience);
  if (!auth.ok) return { kind: "unauthorized", reason: auth.reason };
  const endpoint = await resolveEndpoint(env.DB, config.endpoints, auth.relay.endpoint);
  if (!endpoint) return { kind: "endpoint_missing", endpoint: auth.relay.endpoint };
  return { kind: "ok", caller: { relay: auth.relay, endpoint, jti: auth.jti, expiresAt: auth.expiresAt } };
}

/**
 * The token's single use and (for a call that names a user) the user's pinned number,
 * checked side by side: one round trip.
 */
export async function claimRelayCall(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  caller: RelayCaller,
  who: { username: string; msisdn: string } | null,
): Promise<"ok" | "replayed" | "number_changed"> {
  const [fresh, pin] = await Promise.all([
    objectStub(env, "RELAY_REPLAY", await replayGuardName(caller.relay.name, caller.jti)).claim(caller.jti, caller.expiresAt),
    who ? checkPinnedNumber(env, waitUntil, { endpoint: caller.endpoint, relay: caller.relay.name, ...who }) : null,
  ]);
  if (!fresh) return "replayed";
  if (pin && !pin.ok) return "number_changed";
  return "ok";
}
