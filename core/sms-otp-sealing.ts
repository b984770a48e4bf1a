import type { WebCryptoKey } from "./web-crypto.ts";
import { base64url, fromBase64url } from "./base64url.ts";

/**
 * The SMS an OTP push still owes (RADIUS SMS OTP delivered to the app first): the text holds
 * the code, so it is kept only AES-256-GCM sealed, under a key derived with HKDF-SHA-256 from
 * SEED_ENCRYPTION_KEY (its own info label: unrelated to the seed-sealing and OTP-MAC keys),
 * with the challenge id as additional data, and only until the SMS is sent or no longer owed.
 */
const INFO = "edge-mfa/sms-otp-owed/v1";

export interface SealedText {
  iv: string;
  ct: string;
}

async function owedKey(rawSeedKey: string): Promise<WebCryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", fromBase64url(rawSeedKey), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode(INFO) },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export async function sealOwedText(rawSeedKey: string, challengeId: string, text: string): Promise<SealedText> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(challengeId) },
    await owedKey(rawSeedKey),
    new TextEncoder().encode(text),
  );
  return { iv: base64url(iv), ct: base64url(new Uint8Array(ct)) };
}

/** Throws when the key, the challenge id or the ciphertext is not the one it was sealed with. */
export async function openOwedText(rawSeedKey: string, challengeId: string, sealed: SealedText): Promise<string> {
  const pt = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64url(sealed.iv), additionalData: new TextEncoder().encode(challengeId) },
    await owedKey(rawSeedKey),
    fromBase64url(sealed.ct),
  );
  return new TextDecoder().decode(pt);
}
