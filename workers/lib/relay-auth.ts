import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import type { Config, Relay } from "../config/schema";
import { sha256Hex } from "./tokens";

// One definition of the token format, shared with the relay that mints it.
import { RELAY_AUDIENCE } from "../../relay/src/relay-token";

export type RelayAuth = { ok: true; relay: Relay } | { ok: false; reason: string };

/**
 * Verifies `Authorization: Bearer <JWT>` from an on-prem relay: ES256, signed by the key
 * registered for the relay named in `kid`, at most 2 minutes old, and bound to this exact
 * request (method, path and SHA-256 of the body), so a captured token cannot be reused
 * for another request.
 */
export async function verifyRelayRequest(
  config: Config,
  authorization: string | undefined,
  method: string,
  path: string,
  body: string,
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
      audience: RELAY_AUDIENCE,
      maxTokenAge: "2m",
      clockTolerance: 30,
      requiredClaims: ["iat", "exp", "htm", "htu", "bh"],
    });
    if (payload.htm !== method || payload.htu !== path || payload.bh !== (await sha256Hex(body))) {
      return { ok: false, reason: "token not bound to this request" };
    }
    return { ok: true, relay };
  } catch (e) {
    return { ok: false, reason: `invalid token: ${(e as Error).message}` };
  }
}
