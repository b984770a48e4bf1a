/**
 * Encryption of OTP seeds at rest (AES-256-GCM). The key is the secret SEED_ENCRYPTION_KEY
 * (32 bytes, base64); a leaked storage dump alone then reveals no seed.
 */
const DEMO_SEED_KEY = "ZGVtby1vbmx5LXNlZWQta2V5LTMyLWJ5dGVzLWxvbmc="; // DEMO_MODE only

export class SeedKeyError extends Error {
  override name = "SeedKeyError";
}

function keyBytes(env: Pick<Env, "DEMO_MODE">): Uint8Array {
  const raw = (env as unknown as { SEED_ENCRYPTION_KEY?: string }).SEED_ENCRYPTION_KEY;
  const b64 = raw || (env.DEMO_MODE === "true" ? DEMO_SEED_KEY : "");
  if (!b64) throw new SeedKeyError("SEED_ENCRYPTION_KEY is not set (wrangler secret put SEED_ENCRYPTION_KEY)");
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  if (bytes.length !== 32) throw new SeedKeyError("SEED_ENCRYPTION_KEY must be 32 bytes, base64-encoded");
  return bytes;
}

async function aesKey(env: Pick<Env, "DEMO_MODE">): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", keyBytes(env), "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Returns base64(iv || ciphertext+tag). `context` (e.g. the MSISDN) is bound as AAD. */
export async function encryptSeed(env: Pick<Env, "DEMO_MODE">, seed: string, context: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
    await aesKey(env),
    new TextEncoder().encode(seed),
  );
  const out = new Uint8Array(12 + ct.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ct), 12);
  return btoa(String.fromCharCode(...out));
}

export async function decryptSeed(env: Pick<Env, "DEMO_MODE">, sealed: string, context: string): Promise<string> {
  const bytes = Uint8Array.from(atob(sealed), (c) => c.charCodeAt(0));
  const pt = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: new TextEncoder().encode(context) },
    await aesKey(env),
    bytes.slice(12),
  );
  return new TextDecoder().decode(pt);
}
