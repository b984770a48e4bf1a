import { compactVerify, importJWK } from "jose";
import type { DevicePublicKey } from "./app-schemas";
import { base64url } from "./tokens";

/**
 * Device signatures are ES256 compact JWS. The device signs with a non-extractable WebCrypto
 * key (its raw r||s signature is exactly the JWS ES256 format); the edge verifies with jose,
 * pinned to ES256 so no other algorithm (or "none") can be slipped in.
 */
export async function signCompactJws(privateKey: CryptoKey, payload: unknown): Promise<string> {
  const enc = new TextEncoder();
  const head = base64url(enc.encode(JSON.stringify({ alg: "ES256", typ: "JWT" })));
  const body = base64url(enc.encode(JSON.stringify(payload)));
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, enc.encode(`${head}.${body}`));
  return `${head}.${body}.${base64url(new Uint8Array(sig))}`;
}

/** The JSON payload if the signature is valid for this key, else null. Never throws. */
export async function verifyCompactJws(publicKey: DevicePublicKey, jws: string): Promise<unknown> {
  try {
    const key = await importJWK({ ...publicKey, alg: "ES256" }, "ES256");
    const { payload } = await compactVerify(jws, key, { algorithms: ["ES256"] });
    return JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return null;
  }
}
