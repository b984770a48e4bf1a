/**
 * Link tokens that say which number's object holds their session, without showing the number.
 *
 * A token is 32 bytes, base64url (43 characters, the shape of every link token): the first 16
 * are the route, encrypted with AES-CTR under the deployment's link key; the last 16 are random
 * and serve as the counter block. The route is a version byte, the number's digits as a 7-byte
 * integer (E.164 has at most 15 digits, and never a leading 0) and 8 random bytes.
 *
 * The token is still the bearer secret: its SHA-256 names the session inside the object, so
 * all 256 bits must match. The encryption keeps the number out of links (access logs, forwarded
 * messages); it is not what makes a link hard to guess. A token whose route was tampered with
 * routes to some other object, where no session has its name.
 */
import { base64url, fromBase64url } from "./base64url.ts";
import { E164 } from "./contracts/relay.ts";
import { isWellFormedToken } from "./tokens.ts";
import type { WebCryptoKey } from "./web-crypto.ts";

const VERSION = 1;
const BLOCK = 16;
const NUMBER_BYTES = 7;

/** A link key from its 32 raw bytes (AES-256-CTR). */
export function importLinkKey(raw: Uint8Array<ArrayBuffer>): Promise<WebCryptoKey> {
  if (raw.length !== 32) throw new Error("a link key is 32 bytes");
  return crypto.subtle.importKey("raw", raw, "AES-CTR", false, ["encrypt", "decrypt"]);
}

const ctr = (key: WebCryptoKey, counter: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>) =>
  crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 64 }, key, data);

/** A new link token for a session of `msisdn` (E.164). */
export async function sealLinkToken(key: WebCryptoKey, msisdn: string): Promise<string> {
  if (!E164.test(msisdn)) throw new Error("not an E.164 number");
  const route = new Uint8Array(BLOCK);
  route[0] = VERSION;
  let digits = BigInt(msisdn.slice(1));
  for (let i = NUMBER_BYTES; i >= 1; i--) {
    route[i] = Number(digits & 0xffn);
    digits >>= 8n;
  }
  route.set(crypto.getRandomValues(new Uint8Array(BLOCK - 1 - NUMBER_BYTES)), 1 + NUMBER_BYTES);
  const counter = crypto.getRandomValues(new Uint8Array(BLOCK));
  const token = new Uint8Array(2 * BLOCK);
  token.set(new Uint8Array(await ctr(key, counter, route)), 0);
  token.set(counter, BLOCK);
  return base64url(token);
}

/**
 * The number a link token routes to, or null: not a token, or not one of this key's routes
 * (a token of the old shape, named only by its hash, or one made up).
 */
export async function openLinkToken(key: WebCryptoKey, token: string): Promise<string | null> {
  if (!isWellFormedToken(token)) return null;
  const bytes = fromBase64url(token);
  const route = new Uint8Array(await ctr(key, bytes.slice(BLOCK), bytes.slice(0, BLOCK)));
  if (route[0] !== VERSION) return null;
  let digits = 0n;
  for (let i = 1; i <= NUMBER_BYTES; i++) digits = (digits << 8n) | BigInt(route[i] ?? 0);
  const msisdn = `+${digits}`;
  return E164.test(msisdn) ? msisdn : null;
}
