import type { WebCryptoKey } from "./web-crypto.ts";
import { base64url } from "./base64url.ts";

/**
 * Signs a JSON payload as an ES256 compact JWS with a WebCrypto ECDSA P-256 key. WebCrypto's
 * raw r||s signature is exactly the JWS ES256 format, so no library is needed on the device
 * (and the key can stay non-extractable).
 */
export async function signCompactJws(privateKey: WebCryptoKey, payload: unknown): Promise<string> {
  const enc = new TextEncoder();
  const head = base64url(enc.encode(JSON.stringify({ alg: "ES256", typ: "JWT" })));
  const body = base64url(enc.encode(JSON.stringify(payload)));
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, enc.encode(`${head}.${body}`));
  return `${head}.${body}.${base64url(new Uint8Array(sig))}`;
}
