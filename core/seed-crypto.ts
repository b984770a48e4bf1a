import type { WebCryptoKey } from "./web-crypto.ts";
import { aeadOpen, aeadSeal, type Sealed } from "./aead.ts";
import { fromBase64url } from "./base64url.ts";

/**
 * Additional data of an on-prem TOTP token's seed (app seeds use their device id): bound to
 * the number, so a sealed seed copied into another number's record does not open there.
 */
export function totpTokenContext(msisdn: string): string {
  return `onprem-totp-token:${msisdn}`;
}
/** What tokens enrolled before the binding were sealed with; re-sealed on first open. */
export const LEGACY_TOTP_TOKEN_CONTEXT = "onprem-totp-token";

/**
 * TOTP seeds at rest: AES-256-GCM under SEED_ENCRYPTION_KEY, with the device id as
 * additional data so a stored ciphertext cannot be moved to another device record.
 * A storage dump alone therefore yields no usable seed.
 */
export type SealedSeed = Sealed;

async function importKey(rawKey: string): Promise<WebCryptoKey> {
  return crypto.subtle.importKey("raw", fromBase64url(rawKey), "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function sealSeed(rawKey: string, seed: Uint8Array, deviceId: string): Promise<SealedSeed> {
  return aeadSeal(await importKey(rawKey), seed, deviceId);
}

export async function openSeed(rawKey: string, sealed: SealedSeed, deviceId: string): Promise<Uint8Array> {
  return aeadOpen(await importKey(rawKey), sealed, deviceId);
}
