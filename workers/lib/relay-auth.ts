import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import type { Config, Relay } from "../config/schema";
import { RELAY_TOKEN_CLAIMS, RELAY_TOKEN_MAX_AGE_SECONDS } from "../../core/contracts/relay-token";
import { sha256Hex } from "../../core/tokens";

export type RelayAuth = { ok: true; relay: Relay; jti: string; expiresAt: number } | { ok: false; reason: string };

/** Clock skew allowed between relay and edge; a jti is remembered this long past its expiry. */
export const RELAY_CLOCK_TOLERANCE_S = 30;

/**
 * Verifies `Authorization: Bearer <JWT>` from an on-prem relay: ES256, signed by the key
 * registered for the relay named in `kid`, at most RELAY_TOKEN_MAX_AGE_SECONDS old, for this edge (`aud` is its
 * origin, so a token minted for another environment is refused here), and bound to this
 * exact request (method, path and SHA-256 of the body). The caller then claims the `jti`
 * (claimRelayCall, workers/domain/relay-calls.ts) so the token works once.
 */
export async function verifyRelayRequest(
  config: Config,
  authorization: string | undefined,
  method: string,
  path: string,
  body: string,
  audience: string,
): Promise<RelayAuth> {
  const token = authorization?.match(/^Bearer (\S+)$/)?.[1];
  if (!token) return { ok: false, reason: "missing bearer token" };
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return { ok: false, reason: "malformed token" };
  }
  const relay = config.relays.find((r) => r.name === kid);
  if (!relay) return { ok: false, reason: "unknown relay" };
  try {
    const key = await importJWK(relay.publicJwk, "ES256");
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["ES256"],
      issuer: relay.name,
      audience,
      maxTokenAge: RELAY_TOKEN_MAX_AGE_SECONDS,
      clockTolerance: RELAY_CLOCK_TOLERANCE_S,
      requiredClaims: [...RELAY_TOKEN_CLAIMS],
    });
    if (payload.htm !== method || payload.htu !== path || payload.bh !== (await sha256Hex(body))) {
      return { ok: false, reason: "token not bound to this request" };
    }
    // maxTokenAge bounds how long a token with a far-away exp could be replayed-checked for.
    const { exp, iat, jti } = payload;
    if (exp === undefined || iat === undefined || jti === undefined) return { ok: false, reason: "invalid token: missing claims" };
    const expiresAt = Math.min(exp, iat + RELAY_TOKEN_MAX_AGE_SECONDS) * 1000 + RELAY_CLOCK_TOLERANCE_S * 1000;
    return { ok: true, relay, jti, expiresAt };
  } catch (e) {
    return { ok: false, reason: `invalid token: ${(e as Error).message}` };
  }
}

/** jti-hash shards per relay: spreads one busy relay's tokens over several objects. */
const JTI_SHARDS = 16;

/** The replay guard for this token: named by relay and a hash shard of the jti. */
export async function replayGuardName(relay: string, jti: string): Promise<string> {
  const shard = parseInt((await sha256Hex(jti)).slice(0, 4), 16) % JTI_SHARDS;
  return `${relay}/${shard}`;
}
