import { ACTIVATION_CODE_DIGITS, ACTIVATION_CODE_PATTERN, type DevicePublicKey, type PushSubscriptionJson } from "./contracts/app-api.ts";
import type { RateLimits } from "./rate-limit.ts";

export { ACTIVATION_CODE_DIGITS, ACTIVATION_CODE_PATTERN };

/**
 * Rules of binding an authenticator app to a number (pure; the Subscriber object stores the
 * state). A link token alone does not activate: a separate one-time code goes to the number by
 * SMS and must be typed into the app. Replacing an existing device only takes effect after a
 * grace window in which the old device can refuse.
 */

/** Wrong codes per activation token before the token is burnt. */
export const MAX_ACTIVATION_CODE_ATTEMPTS = 3;
/**
 * Activation codes (SMS) one number may be sent: bounds SMS bombing through a live link. Those
 * of activations asked for in the app (no credential) are counted apart, under the same limits,
 * so that such asks cannot use up the link page's.
 */
export const ACTIVATION_SEND_LIMITS: RateLimits = { perMinute: 3, perHour: 10 };
/** An unclaimed replacement is dropped this long after it became due. */
export const REPLACEMENT_CLAIM_MS = 7 * 86_400_000;

/** Stored per activation token hash. The code only as an HMAC keyed by the (unstored) token. */
export interface ActivationGrant {
  expiresAt: number;
  codeMac: string;
  attempts: number;
  /** Asked for in the app, with no credential: it never pushes out a grant from a live link. */
  requested?: true;
}

export function isActivationGrant(v: unknown): v is ActivationGrant {
  return typeof v === "object" && v !== null && typeof (v as ActivationGrant).codeMac === "string";
}

/**
 * HMAC-SHA-256 of the code under the activation token. Only the token's SHA-256 is stored, so
 * a copy of storage cannot be brute-forced for the 6-digit code.
 */
export async function activationCodeMac(token: string, code: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(token), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(code));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function activationCodeText(code: string): string {
  return `Your authenticator activation code is ${code}. Type it only into the app you opened from your own sign-in link. Never tell it to anyone.`;
}

/**
 * The SMS of an activation started in the app: the link opens the app with the activation
 * token, the code is typed there; the app needs both, so a preview that cuts the message
 * short is not enough. `title` is the configured endpoint's, so users know who sends it.
 */
export function activationRequestText(title: string, code: string, link: string): string {
  return `${title}: to activate the authenticator app on this phone, open ${link} and type the code ${code}. Did not ask for it? Ignore this SMS; never tell anyone the code.`;
}

/**
 * A WebAuthn platform credential registered with user verification at activation (biometric
 * or device PIN); `publicKey` is its COSE key, base64url. See docs/security.md (user verification).
 */
export interface UvCredential {
  id: string;
  publicKey: string;
  counter: number;
  /** The authenticator reported the credential backed up (a synced passkey). */
  backedUp: boolean;
  transports?: string[];
}

/** Devices one number may have unless configured otherwise (maxDevicesPerNumber). */
export const DEFAULT_MAX_DEVICES = 5;
/** The name shown for a device activated before devices had names. */
export const UNNAMED_DEVICE = "Phone";

/**
 * A new device waiting to join the number's devices (stored as "replacement": before several
 * devices per number it replaced the one device; the key and shape stay for stored data).
 */
export interface PendingReplacement {
  id: string;
  publicKey: DevicePublicKey;
  subscription: PushSubscriptionJson | null;
  requestedAt: number;
  effectiveAt: number;
  /** Absent in a request stored before device names. */
  name?: string;
  /** Its user-verification credential; null: it has none; absent: stored before WebAuthn. */
  uv?: UvCredential | null;
}

export type ReplacementPhase = "waiting" | "due" | "lapsed";

export function replacementPhase(r: Pick<PendingReplacement, "effectiveAt">, now: number): ReplacementPhase {
  if (now < r.effectiveAt) return "waiting";
  return now < r.effectiveAt + REPLACEMENT_CLAIM_MS ? "due" : "lapsed";
}
