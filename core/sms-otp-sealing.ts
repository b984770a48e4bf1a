import type { WebCryptoKey } from "./web-crypto.ts";
import { aeadOpen, aeadSeal, derivedKey, type Sealed } from "./aead.ts";

/**
 * The SMS an OTP push still owes (RADIUS SMS OTP delivered to the app first): the text holds
 * the code, so it is kept only AES-256-GCM sealed, under a key derived with HKDF-SHA-256 from
 * SEED_ENCRYPTION_KEY (its own info label: unrelated to the seed-sealing and OTP-MAC keys),
 * with the challenge id as additional data, and only until the SMS is sent or no longer owed.
 */
const INFO = "edge-mfa/sms-otp-owed/v1";

export type SealedText = Sealed;

function owedKey(rawSeedKey: string): Promise<WebCryptoKey> {
  return derivedKey(rawSeedKey, INFO, { name: "AES-GCM", length: 256 }, ["encrypt", "decrypt"]);
}

export async function sealOwedText(rawSeedKey: string, challengeId: string, text: string): Promise<SealedText> {
  return aeadSeal(await owedKey(rawSeedKey), new TextEncoder().encode(text), challengeId);
}

/** Throws when the key, the challenge id or the ciphertext is not the one it was sealed with. */
export async function openOwedText(rawSeedKey: string, challengeId: string, sealed: SealedText): Promise<string> {
  return new TextDecoder().decode(await aeadOpen(await owedKey(rawSeedKey), sealed, challengeId));
}
