import { SignJWT, type CryptoKey as JoseKey, type KeyObject } from "jose";
import { sha256Hex } from "../tokens.ts";

/**
 * The bearer token a relay sends with every edge call: ES256, short-lived, for one edge
 * (`aud`: its origin, e.g. "https://mfa.example.com"), bound to the request (method, path,
 * SHA-256 of the body), and single use at the edge (`jti`). Shared by the relay and the tests
 * of the edge's verifier (runs on Node and workerd).
 */
/** Lifetime of a relay token; the edge remembers its jti this long (plus clock tolerance). */
export const RELAY_TOKEN_SECONDS = 60;
/** The oldest token (by `iat`) the edge accepts, whatever its `exp` says. */
export const RELAY_TOKEN_MAX_AGE_SECONDS = 120;
/** Claims every relay token carries; the edge refuses a token without any of them. */
export const RELAY_TOKEN_CLAIMS = ["iat", "exp", "jti", "htm", "htu", "bh"] as const;

/** The protected header of a relay token: ES256, `kid` names the relay's registered key. */
export function relayTokenHeader(relayName: string): { alg: "ES256"; kid: string } {
  return { alg: "ES256", kid: relayName };
}

/**
 * The claims of one relay token, every one of RELAY_TOKEN_CLAIMS plus `iss` and `aud`: the one
 * definition both signers use (mintRelayToken here, the relay's node:crypto signer).
 * `bodySha256Hex`: SHA-256 of the exact body sent, hex. `jti`: fresh for every call.
 */
export function relayTokenPayload(
  relayName: string,
  audience: string,
  method: string,
  path: string,
  bodySha256Hex: string,
  nowSeconds: number,
  jti: string,
): { iss: string; aud: string; iat: number; exp: number; jti: string; htm: string; htu: string; bh: string } {
  return {
    iss: relayName,
    aud: audience,
    iat: nowSeconds,
    exp: nowSeconds + RELAY_TOKEN_SECONDS,
    jti,
    htm: method,
    htu: path,
    bh: bodySha256Hex,
  };
}

export async function mintRelayToken(
  key: JoseKey | KeyObject | Uint8Array,
  relayName: string,
  /** The edge's origin (scheme://host[:port]). */
  audience: string,
  method: string,
  path: string,
  body: string,
): Promise<string> {
  const payload = relayTokenPayload(
    relayName,
    audience,
    method,
    path,
    await sha256Hex(body),
    Math.floor(Date.now() / 1000),
    crypto.randomUUID(),
  );
  return new SignJWT(payload).setProtectedHeader(relayTokenHeader(relayName)).sign(key);
}
