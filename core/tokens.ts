/**
 * Secrets for links and forms. Link tokens carry 256 bits from the CSPRNG; only their SHA-256
 * is ever stored (it also names the session's Durable Object, so a token finds its session
 * without any lookup table).
 */
import { base64url } from "./base64url.ts";

/** A link token, challenge id or device id: 32 random bytes, base64url without padding. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function randomToken(bytes = 32): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(buf);
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

export { base64url };

/** Two hex digits by byte value (several hashes per request: a table, not a map/padStart/join). */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * One encoder for the module: an encoder holds no state between calls, and in workerd each
 * `new TextEncoder()` is a runtime object the garbage collector must track (several per sign-in).
 */
const UTF8 = new TextEncoder();

export async function sha256Hex(value: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", UTF8.encode(value)));
  let hex = "";
  for (const b of digest) hex += HEX[b];
  return hex;
}

/**
 * Constant-time string equality. Both sides are hashed first so lengths match and the
 * comparison time says nothing about where (or whether) the inputs differ.
 */
export async function timingSafeEqualString(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([crypto.subtle.digest("SHA-256", UTF8.encode(a)), crypto.subtle.digest("SHA-256", UTF8.encode(b))]);
  return equalBytes(new Uint8Array(da), new Uint8Array(db));
}

/**
 * Equal-length byte arrays compared with no early exit (crypto.subtle.timingSafeEqual is
 * Workers-only; this module runs in the relay and the browser too). Different lengths: false.
 */
export function equalBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
