import { generate, NobleCryptoPlugin, ScureBase32Plugin, verify } from "otplib";
import { CHALLENGE_PATTERN } from "./contracts/relay.ts";

/** Challenges are what a RADIUS server shows: short, typeable, case-insensitive. */
export { CHALLENGE_PATTERN };

/**
 * Offline codes of the authenticator app, shared by the edge (verification) and the app
 * (generation): the same module is bundled into both, so they cannot drift apart.
 *
 * - TOTP (RFC 6238, SHA-1, 6 digits, 30 s) via otplib with its pure-JS noble plugin, which
 *   runs unchanged in workerd and browsers.
 * - Challenge-response ("Phone not reachable, please sign 123456"): HMAC-SHA-256 of a
 *   domain-separated challenge under the seed, RFC 4226 dynamic truncation to 8 digits. The
 *   domain tag keeps these codes unrelated to TOTP codes from the same seed.
 */
export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
export const CR_DIGITS = 8;

const plugins = { crypto: new NobleCryptoPlugin(), base32: new ScureBase32Plugin() };

/**
 * A TOTP token's parameters. The app and edge tokens use the defaults; hardware tokens
 * imported into the relay's local store may have 8 digits, a 60 s period or SHA-256/512.
 */
export interface TotpParams {
  digits: 6 | 8;
  period: 30 | 60;
  algorithm: "sha1" | "sha256" | "sha512";
}
export const DEFAULT_TOTP: TotpParams = { digits: TOTP_DIGITS, period: TOTP_PERIOD, algorithm: "sha1" };

export const SEED_BYTES = 20;
/** Seed sizes otplib accepts (it throws outside them); enrolment refuses anything else. */
export const MIN_SEED_BYTES = 16;
export const MAX_SEED_BYTES = 64;

export function isUsableSeedLength(bytes: number): boolean {
  return bytes >= MIN_SEED_BYTES && bytes <= MAX_SEED_BYTES;
}

export function newSeed(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SEED_BYTES));
}

export function seedToBase32(seed: Uint8Array): string {
  return plugins.base32.encode(seed, { padding: false });
}

export function seedFromBase32(b32: string): Uint8Array {
  return plugins.base32.decode(b32);
}

export async function totpCode(seed: Uint8Array, nowMs: number, params: TotpParams = DEFAULT_TOTP): Promise<string> {
  return generate({ secret: seed, ...plugins, ...params, epoch: Math.floor(nowMs / 1000) });
}

export type TotpCheck = { valid: true; timeStep: number } | { valid: false };

/**
 * Verifies a TOTP code, one step either side of now. `afterTimeStep` is the last step already
 * used: a code of that step or an earlier one is refused, so each code (and each time step)
 * counts once.
 */
export async function checkTotp(
  seed: Uint8Array,
  code: string,
  nowMs: number,
  afterTimeStep?: number,
  params: TotpParams = DEFAULT_TOTP,
): Promise<TotpCheck> {
  // A stored seed of the wrong size is a fault to report, not a wrong code: the caller counts
  // it as a failed attempt and alerts.
  if (!isUsableSeedLength(seed.length)) throw new RangeError(`TOTP seed is ${seed.length} bytes, not ${MIN_SEED_BYTES}-${MAX_SEED_BYTES}`);
  if (code.length !== params.digits || !/^\d+$/.test(code)) return { valid: false };
  const r = await verify({
    secret: seed,
    token: code,
    ...plugins,
    ...params,
    epoch: Math.floor(nowMs / 1000),
    // One step either side for clock drift, as RFC 6238 §5.2 suggests.
    epochTolerance: params.period,
    ...(afterTimeStep !== undefined ? { afterTimeStep } : {}),
  });
  // The functional API types TOTP and HOTP results together; TOTP's carries the time step.
  return r.valid && "timeStep" in r ? { valid: true, timeStep: r.timeStep } : { valid: false };
}

export async function challengeResponseCode(seed: Uint8Array, challenge: string): Promise<string> {
  if (!CHALLENGE_PATTERN.test(challenge)) throw new Error("challenge must be 4-16 letters or digits");
  const key = await crypto.subtle.importKey("raw", new Uint8Array(seed), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const msg = new TextEncoder().encode(`edge-mfa/challenge-response/v1:${challenge.toUpperCase()}`);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, msg));
  // RFC 4226 §5.3 dynamic truncation.
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** CR_DIGITS).padStart(CR_DIGITS, "0");
}

export async function checkChallengeResponse(seed: Uint8Array, challenge: string, code: string): Promise<boolean> {
  if (!CHALLENGE_PATTERN.test(challenge) || !/^\d{8}$/.test(code)) return false;
  return constantTimeEqual(await challengeResponseCode(seed, challenge), code);
}

/** Equal-length strings compared without an early exit (this module also runs in browsers). */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A numeric one-time code (SMS OTP) from the CSPRNG, without modulo bias. */
export function randomDigits(length = 6): string {
  let out = "";
  while (out.length < length) {
    const [b] = crypto.getRandomValues(new Uint8Array(1));
    if (b! < 250) out += String(b! % 10);
  }
  return out;
}
