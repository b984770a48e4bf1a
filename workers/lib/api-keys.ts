import type { Endpoint } from "../config/schema";
import type { BadRequestReason } from "../../core/codes";
import { sha256Hex } from "../../core/tokens";
import type { TOKEN_STATUSES } from "../../core/contracts/admin-api";

export type KeyCheck = { ok: true; keyName: string } | { ok: false; reason: BadRequestReason };

/**
 * Checks the api-key header against the endpoint's stored key hashes. Every stored hash is
 * compared in constant time and the loop never exits early, so timing reveals neither which
 * key matched nor how much of it.
 */
export async function authenticateApiKey(endpoint: Endpoint | null, presented: string | undefined, now: Date): Promise<KeyCheck> {
  if (!presented) return { ok: false, reason: "missing_api_key" };
  if (!endpoint) return { ok: false, reason: "unknown_endpoint" };

  const presentedHash = hexToBytes(await sha256Hex(presented));
  let match: Endpoint["apiKeys"][number] | undefined;
  for (const key of endpoint.apiKeys) {
    if (crypto.subtle.timingSafeEqual(presentedHash, hexToBytes(key.sha256)) && !match) match = key;
  }
  if (!match) return { ok: false, reason: "invalid_api_key" };
  if (match.expires && isExpired(match.expires, now)) return { ok: false, reason: "expired_api_key" };
  return { ok: true, keyName: match.name };
}

/** An expiry date is the last valid day, inclusive, in UTC. */
export function isExpired(expires: string, now: Date): boolean {
  return now.getTime() >= Date.parse(`${expires}T00:00:00Z`) + 86_400_000;
}

/** What an operator sees of a D1 API token (admin API and console alike): revoked wins over expired. */
export function tokenStatus(t: { revoked_at: number | null; expires: string | null }, now: number): (typeof TOKEN_STATUSES)[number] {
  if (t.revoked_at) return "revoked";
  return t.expires && isExpired(t.expires, new Date(now)) ? "expired" : "active";
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
