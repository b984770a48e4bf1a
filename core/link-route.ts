/**
 * Link tokens that say which number's object holds their session, without showing the number,
 * and that nobody without the deployment's link key can point at another number.
 *
 * A token is 32 bytes, base64url (43 characters, the shape of every link token): the first 16
 * are the route, encrypted with AES-CTR; the last 16 are random and serve as the counter block.
 * The route is a version byte, the number's digits as a 7-byte integer (E.164 has at most 15
 * digits, and never a leading 0) and an 8-byte tag: HMAC-SHA-256 over the version, the digits
 * and the counter block, cut to 8 bytes. Both keys come from the link key by HKDF.
 *
 * Why the tag: CTR is malleable. Without it (version 1), whoever held one link, even a used one
 * for their own number, could XOR the digits of any other number into it and mint unlimited
 * tokens that all routed to that number's object (a way to aim junk at one number). A changed
 * bit now breaks the tag, so an edited or made-up token routes nowhere (about one in 2^64
 * passes), and version 1 tokens no longer route at all.
 *
 * The token is still the bearer secret: its SHA-256 names the session inside the object, so
 * all 256 bits must match, and the 128 random bits of the counter block are what nobody can
 * guess. The encryption keeps the number out of links (access logs, forwarded messages).
 */
import { base64url, fromBase64url } from "./base64url.ts";
import { E164 } from "./contracts/relay.ts";
import { equalBytes, isWellFormedToken } from "./tokens.ts";
import type { WebCryptoKey } from "./web-crypto.ts";

const VERSION = 2;
const BLOCK = 16;
const NUMBER_BYTES = 7;
const TAG_BYTES = BLOCK - 1 - NUMBER_BYTES;

/** The two keys a link key gives: the route's cipher and its tag. */
export interface LinkKey {
  cipher: WebCryptoKey;
  tag: WebCryptoKey;
}

const info = (what: string) => new TextEncoder().encode(`edge-mfa link route ${what}`);

/** A link key from its 32 raw bytes: AES-256-CTR and HMAC-SHA-256 keys derived by HKDF. */
export async function importLinkKey(raw: Uint8Array<ArrayBuffer>): Promise<LinkKey> {
  if (raw.length !== 32) throw new Error("a link key is 32 bytes");
  const base = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
  const hkdf = (what: string) => ({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: info(what) });
  const [cipher, tag] = await Promise.all([
    crypto.subtle.deriveKey(hkdf("cipher"), base, { name: "AES-CTR", length: 256 }, false, ["encrypt", "decrypt"]),
    crypto.subtle.deriveKey(hkdf("tag"), base, { name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign", "verify"]),
  ]);
  return { cipher, tag };
}

const ctr = (key: WebCryptoKey, counter: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>) =>
  crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 64 }, key, data);

/** The route's tag: over the version, the digits and the counter block (the whole token but the tag). */
async function routeTag(key: WebCryptoKey, route: Uint8Array, counter: Uint8Array): Promise<Uint8Array> {
  const signed = new Uint8Array(1 + NUMBER_BYTES + BLOCK);
  signed.set(route.subarray(0, 1 + NUMBER_BYTES), 0);
  signed.set(counter, 1 + NUMBER_BYTES);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, signed)).subarray(0, TAG_BYTES);
}

/** A new link token for a session of `msisdn` (E.164). */
export async function sealLinkToken(key: LinkKey, msisdn: string): Promise<string> {
  if (!E164.test(msisdn)) throw new Error("not an E.164 number");
  const route = new Uint8Array(BLOCK);
  route[0] = VERSION;
  let digits = BigInt(msisdn.slice(1));
  for (let i = NUMBER_BYTES; i >= 1; i--) {
    route[i] = Number(digits & 0xffn);
    digits >>= 8n;
  }
  const counter = crypto.getRandomValues(new Uint8Array(BLOCK));
  route.set(await routeTag(key.tag, route, counter), 1 + NUMBER_BYTES);
  const token = new Uint8Array(2 * BLOCK);
  token.set(new Uint8Array(await ctr(key.cipher, counter, route)), 0);
  token.set(counter, BLOCK);
  return base64url(token);
}

/**
 * The number a link token routes to, or null: not a token, or not one this key sealed (a token
 * named only by its hash, such as an Assisted Login link, a version 1 token, an edited or a
 * made-up one).
 */
export async function openLinkToken(key: LinkKey, token: string): Promise<string | null> {
  if (!isWellFormedToken(token)) return null;
  const bytes = fromBase64url(token);
  const counter = bytes.slice(BLOCK);
  const route = new Uint8Array(await ctr(key.cipher, counter, bytes.slice(0, BLOCK)));
  if (route[0] !== VERSION) return null;
  // Constant time: how much of a guessed tag matched must not show.
  if (!equalBytes(route.subarray(1 + NUMBER_BYTES), await routeTag(key.tag, route, counter))) return null;
  let digits = 0n;
  for (let i = 1; i <= NUMBER_BYTES; i++) digits = (digits << 8n) | BigInt(route[i] ?? 0);
  const msisdn = `+${digits}`;
  return E164.test(msisdn) ? msisdn : null;
}
