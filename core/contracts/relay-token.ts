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

export async function mintRelayToken(
  key: JoseKey | KeyObject | Uint8Array,
  relayName: string,
  /** The edge's origin (scheme://host[:port]). */
  audience: string,
  method: string,
  path: string,
  body: string,
): Promise<string> {
  return new SignJWT({ htm: method, htu: path, bh: await sha256Hex(body) })
    .setProtectedHeader({ alg: "ES256", kid: relayName })
    .setIssuer(relayName)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${RELAY_TOKEN_SECONDS}s`)
    .setJti(crypto.randomUUID())
    .sign(key);
}
