import { z } from "zod";

/**
 * Secrets of the authenticator app: the VAPID key pair that signs Web Push requests and the
 * AES key that encrypts TOTP seeds at rest. In DEMO_MODE (only `npm run dev` sets it) fixed
 * dev values stand in when none are set, so the app works with no setup; they are public
 * (they are in this file) and never used otherwise.
 */
const DEMO_VAPID = {
  publicKey: "BHTi9RjnRx-1a2k0_rYuq47dtHEroFllllUovYvgNOggXc7oTifiSQa4lEhddDw_cXq7EiiJ0cIylMOslLUg-CQ",
  privateKey: "kMVXpDGy9-UfI2jTuB9jOqD36Jc9YzkDNZdWZEg_9-A",
  subject: "mailto:dev@edge-mfa.invalid",
};
const DEMO_SEED_KEY = "FXiRqg2aAifwOtOe5JbxwX_hwKnKxMDH1pNGpnDt7Us";

const b64u = (bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "base64url")
    .refine((s) => Math.floor((s.length * 3) / 4) === bytes, `${bytes} bytes, base64url`);

export const VapidSchema = z.object({
  /** Uncompressed P-256 point (65 bytes), the browser's applicationServerKey. */
  publicKey: b64u(65),
  /** The private scalar d (32 bytes), as web-push tools print it. */
  privateKey: b64u(32),
  /** Contact for push services (RFC 8292): mailto: or https: URL. */
  subject: z.string().regex(/^(mailto:|https:\/\/)\S+$/),
});
export type VapidKeys = z.infer<typeof VapidSchema>;

export class AppSecretError extends Error {
  override name = "AppSecretError";
}

type SecretEnv = Record<string, unknown>;
const opt = (v: unknown) => (v === undefined || v === "" ? undefined : String(v));

/** VAPID keys, or null when push is not configured (delivery then uses SMS only). */
export function vapidFromEnv(env: Env): VapidKeys | null {
  const e = env as unknown as SecretEnv;
  const given = { publicKey: opt(e.VAPID_PUBLIC_KEY), privateKey: opt(e.VAPID_PRIVATE_KEY), subject: opt(e.VAPID_SUBJECT) };
  if (!given.publicKey && !given.privateKey) return env.DEMO_MODE === "true" ? DEMO_VAPID : null;
  const r = VapidSchema.safeParse({ ...given, subject: given.subject ?? (env.DEMO_MODE === "true" ? DEMO_VAPID.subject : undefined) });
  if (!r.success) throw new AppSecretError(`VAPID_* secrets invalid: ${z.prettifyError(r.error)}`);
  return r.data;
}

/** Whether pushes can be sent at all (VAPID keys given, or demo mode); vapidFromEnv checks the keys. */
export function pushConfigured(env: Env): boolean {
  const e = env as unknown as SecretEnv;
  return Boolean(opt(e.VAPID_PUBLIC_KEY) || opt(e.VAPID_PRIVATE_KEY)) || env.DEMO_MODE === "true";
}

/** Raw AES-256 key (base64url, 32 bytes) for seeds at rest; required once a device activates. */
export function seedKeyFromEnv(env: Env): string {
  const raw = opt((env as unknown as SecretEnv).SEED_ENCRYPTION_KEY);
  if (!raw) {
    if (env.DEMO_MODE === "true") return DEMO_SEED_KEY;
    throw new AppSecretError("SEED_ENCRYPTION_KEY is not set (32 random bytes, base64url)");
  }
  const r = b64u(32).safeParse(raw);
  if (!r.success) throw new AppSecretError("SEED_ENCRYPTION_KEY must be 32 bytes, base64url");
  return r.data;
}
