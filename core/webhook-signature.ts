/**
 * Webhook signatures in the Standard Webhooks convention (standardwebhooks.com): the secret is
 * `whsec_` + base64 of 24-64 random bytes; the signature is HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${body}`, sent as `v1,<base64>` in webhook-signature
 * (several space-separated during a secret rotation). Pure WebCrypto: the edge signs, the
 * tests and examples/ verify with the same code.
 */

const PREFIX = "whsec_";
/** Receivers refuse a timestamp further than this from their clock (replay window). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

function fromBase64(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
  try {
    return Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The key bytes of a `whsec_…` secret; null when it is not one (wrong prefix, not base64, too short or long). */
export function parseSigningSecret(secret: string): Uint8Array<ArrayBuffer> | null {
  if (!secret.startsWith(PREFIX)) return null;
  const key = fromBase64(secret.slice(PREFIX.length));
  return key && key.length >= 24 && key.length <= 64 ? key : null;
}

/** A fresh secret: 32 random bytes. */
export function newSigningSecret(): string {
  return PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

function hmacKey(key: Uint8Array<ArrayBuffer>, usage: "sign" | "verify") {
  return crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

const signedContent = (id: string, timestamp: number, body: string) => new TextEncoder().encode(`${id}.${timestamp}.${body}`);

/** The webhook-signature header value for one delivery attempt. */
export async function signWebhook(key: Uint8Array<ArrayBuffer>, id: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(key, "sign"), signedContent(id, timestamp, body));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

export interface WebhookHeaders {
  id: string | null;
  timestamp: string | null;
  signature: string | null;
}

export type WebhookCheck = { ok: true } | { ok: false; reason: "bad_secret" | "missing_headers" | "stale_timestamp" | "bad_signature" };

/**
 * What a receiver checks: the headers are there, the timestamp is within the tolerance of its
 * clock (`nowSeconds`), and one v1 signature matches (compared in constant time by WebCrypto).
 */
export async function verifyWebhook(secret: string, headers: WebhookHeaders, body: string, nowSeconds: number): Promise<WebhookCheck> {
  const key = parseSigningSecret(secret);
  if (!key) return { ok: false, reason: "bad_secret" };
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: "missing_headers" };
  const ts = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (!Number.isFinite(ts) || Math.abs(nowSeconds - ts) > WEBHOOK_TOLERANCE_SECONDS) return { ok: false, reason: "stale_timestamp" };
  const verifier = await hmacKey(key, "verify");
  const content = signedContent(id, ts, body);
  for (const part of signature.split(" ")) {
    const [version, value] = part.split(",", 2);
    const mac = version === "v1" && value ? fromBase64(value) : null;
    if (mac && (await crypto.subtle.verify("HMAC", verifier, mac, content))) return { ok: true };
  }
  return { ok: false, reason: "bad_signature" };
}
