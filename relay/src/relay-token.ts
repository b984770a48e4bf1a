import { SignJWT, type CryptoKey as JoseKey, type KeyObject } from "jose";

/**
 * The bearer token a relay sends with every edge call: ES256, short-lived, and bound to the
 * request (method, path, SHA-256 of the body) so it cannot be replayed for another request.
 * Shared by the relay and the tests of the edge's verifier (runs on Node and workerd).
 */
export const RELAY_AUDIENCE = "edge-mfa-relay-api";

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function mintRelayToken(
  key: JoseKey | KeyObject | Uint8Array,
  relayName: string,
  method: string,
  path: string,
  body: string,
): Promise<string> {
  return new SignJWT({ htm: method, htu: path, bh: await sha256Hex(body) })
    .setProtectedHeader({ alg: "ES256", kid: relayName })
    .setIssuer(relayName)
    .setAudience(RELAY_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("60s")
    .setJti(crypto.randomUUID())
    .sign(key);
}
