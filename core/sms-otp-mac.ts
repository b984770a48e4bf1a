import type { WebCryptoKey } from "./web-crypto.ts";
import { derivedKey } from "./aead.ts";

/**
 * What the number's Subscriber stores of an SMS OTP: HMAC-SHA-256 over the challenge id and
 * the code, under a key derived with HKDF-SHA-256 from SEED_ENCRYPTION_KEY (info label
 * below, so it is unrelated to the seed-sealing key and needs no secret of its own). A bare
 * SHA-256 of six digits falls to a million hashes; without the key a storage dump says
 * nothing about the code, and the challenge id makes each stored value unique.
 */
const INFO = "edge-mfa/sms-otp-mac/v1";

export function smsOtpMacKey(rawSeedKey: string): Promise<WebCryptoKey> {
  return derivedKey(rawSeedKey, INFO, { name: "HMAC", hash: "SHA-256", length: 256 }, ["sign"]);
}

/** Hex HMAC of `<challengeId>:<code>` (challenge ids are base64url: no colon, so unambiguous). */
export async function smsOtpMac(key: WebCryptoKey, challengeId: string, code: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${challengeId}:${code}`));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
