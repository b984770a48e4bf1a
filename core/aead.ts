import type { WebCryptoKey } from "./web-crypto.ts";
import { base64url, fromBase64url } from "./base64url.ts";

/**
 * AES-256-GCM with additional data, the one sealing every secret at rest uses (TOTP seeds,
 * the SMS an OTP push still owes): a fresh 96-bit IV per seal, both halves base64url.
 */
export interface Sealed {
  iv: string;
  ct: string;
}

export async function aeadSeal(key: WebCryptoKey, plaintext: Uint8Array, associatedData: string): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(associatedData) },
    key,
    new Uint8Array(plaintext),
  );
  return { iv: base64url(iv), ct: base64url(new Uint8Array(ct)) };
}

/** Throws when the key, the additional data or the ciphertext is not the one it was sealed with. */
export async function aeadOpen(key: WebCryptoKey, sealed: Sealed, associatedData: string): Promise<Uint8Array> {
  const pt = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64url(sealed.iv), additionalData: new TextEncoder().encode(associatedData) },
    key,
    fromBase64url(sealed.ct),
  );
  return new Uint8Array(pt);
}

/**
 * A key derived with HKDF-SHA-256 (empty salt) from SEED_ENCRYPTION_KEY under its own `info`
 * label, so each use has a key unrelated to the others' without a secret of its own.
 */
export async function derivedKey(
  rawSeedKey: string,
  info: string,
  algorithm: { name: "AES-GCM"; length: 256 } | { name: "HMAC"; hash: "SHA-256"; length: 256 },
  usages: Array<"encrypt" | "decrypt" | "sign">,
): Promise<WebCryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", fromBase64url(rawSeedKey), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode(info) },
    ikm,
    algorithm,
    false,
    usages,
  );
}
