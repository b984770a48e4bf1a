import { hash } from "node:crypto";

/**
 * One-shot digests for the per-packet hashing (authenticators, Message-Authenticator,
 * password hiding). createHash()/createHmac() make a Hash or Hmac object per call, backed by
 * a C++ object the garbage collector tracks through a weak handle; at four or five per login
 * they made a good part of each young-generation collection of the relay (2026-11-30: of a
 * ~2.5 ms scavenge every ~500 single logins, ~0.7-1 ms was weak handles). crypto.hash() digests
 * in one call without one. (The relay runs on Node >= 22.18, for its TypeScript; crypto.hash
 * is there since 21.7 and 20.12.)
 */
const oneShot = (algorithm: string, data: Buffer): Buffer => hash(algorithm, data, "buffer") as unknown as Buffer;

/** MD5 of the parts, in order. */
export function md5(...parts: Array<Buffer | string>): Buffer {
  return oneShot("md5", parts.length === 1 && typeof parts[0] !== "string" ? parts[0]! : Buffer.concat(parts.map(asBuffer)));
}

/** SHA-256 of a string (UTF-8), as lowercase hex. */
export function sha256Hex(text: string): string {
  return hash("sha256", text, "hex");
}

const BLOCK = 64;
/** The padded inner and outer keys of HMAC-MD5 per RADIUS secret: a relay has a handful of secrets. */
const hmacKeys = new Map<string, { inner: Buffer; outer: Buffer }>();
const MAX_CACHED_KEYS = 256;

/**
 * HMAC-MD5 (RFC 2104): MD5((K ^ opad) || MD5((K ^ ipad) || data)), K the secret (its MD5 when
 * longer than the 64-byte block) padded with zeros. The same bytes as createHmac("md5", key),
 * held to it by a property test (test/relay/unit/digest.test.ts).
 */
export function hmacMd5(key: string, data: Buffer): Buffer {
  let keys = hmacKeys.get(key);
  if (keys === undefined) {
    let k: Buffer = Buffer.from(key, "utf8");
    if (k.length > BLOCK) k = oneShot("md5", k);
    const inner = Buffer.alloc(BLOCK, 0x36);
    const outer = Buffer.alloc(BLOCK, 0x5c);
    for (let i = 0; i < k.length; i++) {
      inner[i] = 0x36 ^ (k[i] ?? 0);
      outer[i] = 0x5c ^ (k[i] ?? 0);
    }
    keys = { inner, outer };
    // Secrets come from the config (forgotten at each reload of the clients); the cap is a backstop.
    if (hmacKeys.size >= MAX_CACHED_KEYS) hmacKeys.clear();
    hmacKeys.set(key, keys);
  }
  const innerHash = oneShot("md5", Buffer.concat([keys.inner, data]));
  return oneShot("md5", Buffer.concat([keys.outer, innerHash]));
}

/**
 * Forgets every secret's cached keys: a reload that changed the clients calls it, so a
 * replaced secret's keys (as good as the secret) do not stay in memory.
 */
export function forgetHmacKeys(): void {
  hmacKeys.clear();
}

/** How many secrets' keys are cached (for tests). */
export function cachedHmacKeys(): number {
  return hmacKeys.size;
}

function asBuffer(part: Buffer | string): Buffer {
  return typeof part === "string" ? Buffer.from(part, "utf8") : part;
}
