import type { RateLimits } from "../../core/rate-limit";
import { isWellFormedToken, randomToken, sha256Hex } from "../../core/tokens";
import {
  addConsoleDeviceFailure,
  deleteConsoleDevice,
  getConsoleDevice,
  insertConsoleDevice,
  purgeConsoleDevices,
  type ConsoleDeviceRow,
} from "../store/console-devices";

/**
 * Device cookies for console sign-in (OWASP "Slow Down Online Guessing Attacks with Device
 * Cookies"): a browser that signed in as an operator gets a random 256-bit id, stored only as
 * SHA-256 with the operator and the admin token's fingerprint. Presented again with that
 * operator's name, it moves the attempt from the name's shared bucket (which anyone can empty)
 * to the device's own, so a flood of guesses at a name does not lock its operator out. It
 * never authenticates: the token is checked as for anyone else. DEVICE_MAX_FAILURES wrong
 * tokens in a row forget the device, so a stolen cookie buys a few guesses, not a channel.
 */
export const DEVICE_MAX_AGE_MS = 90 * 24 * 3_600_000;
export const DEVICE_MAX_FAILURES = 5;
export const LOGIN_PER_DEVICE: RateLimits = { perMinute: 10, perHour: 60 };

/**
 * What a presented device cookie means for a sign-in as one name: `valid` (its own bucket),
 * `other` (another operator's device: ignored, kept), `dead` (unknown, expired, or its token
 * was removed or rotated: ignored, forgotten), `none` (no cookie).
 */
export type DeviceCheck = { kind: "none" | "other" | "dead" } | { kind: "valid"; idSha256: string };

/**
 * Pure: a stored device's standing for a sign-in as `name`, given the fingerprint of the token
 * now configured under that name (null: none is).
 */
export function deviceStanding(
  row: Pick<ConsoleDeviceRow, "operator" | "credential" | "created_at">,
  name: string,
  credential: string | null,
  now: number,
): "valid" | "other" | "dead" {
  if (row.operator !== name) return "other";
  if (credential === null || row.credential !== credential) return "dead";
  if (now - row.created_at >= DEVICE_MAX_AGE_MS || row.created_at > now + 60_000) return "dead";
  return "valid";
}

/**
 * Looks the cookie's device up for a sign-in as `name`; a dead one's row is deleted.
 * `credentialOf` (the fingerprint of the token configured under `name`, or null) is asked only
 * for a stored device of that name, so without one the work does not depend on the name.
 */
export async function recogniseDevice(
  env: Env,
  id: string | undefined,
  name: string,
  credentialOf: () => Promise<string | null>,
  now = Date.now(),
): Promise<DeviceCheck> {
  if (id === undefined) return { kind: "none" };
  if (!isWellFormedToken(id)) return { kind: "dead" };
  const idSha256 = await sha256Hex(id);
  const row = await getConsoleDevice(env.DB, idSha256);
  if (!row) return { kind: "dead" };
  const standing = row.operator === name ? deviceStanding(row, name, await credentialOf(), now) : "other";
  if (standing === "dead") await deleteConsoleDevice(env.DB, idSha256);
  return standing === "valid" ? { kind: "valid", idSha256 } : { kind: standing };
}

/** The device's rate-limit key: a prefix of its own, never an address or a name bucket. */
export const deviceBucketKey = (idSha256: string): string => `console-device:${idSha256}`;

/** Counts a wrong token presented with the device; true when that forgot the device. */
export async function deviceFailed(env: Env, idSha256: string): Promise<boolean> {
  const failures = await addConsoleDeviceFailure(env.DB, idSha256);
  if (failures === null) return true;
  if (failures < DEVICE_MAX_FAILURES) return false;
  await deleteConsoleDevice(env.DB, idSha256);
  return true;
}

/**
 * After a good sign-in: a fresh device id for the operator (the presented one, if any, is
 * retired), so the count of wrong tokens starts over and the 90 days run from now.
 */
export async function issueDevice(
  env: Env,
  operator: string,
  credential: string,
  retire: string | null,
  now = Date.now(),
): Promise<string> {
  const id = randomToken(32);
  if (retire) await deleteConsoleDevice(env.DB, retire);
  await purgeConsoleDevices(env.DB, now - DEVICE_MAX_AGE_MS);
  await insertConsoleDevice(env.DB, { id_sha256: await sha256Hex(id), operator, credential, created_at: now, failures: 0 });
  return id;
}
