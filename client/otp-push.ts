/**
 * A RADIUS login code pushed to the app (instead of, or before, the SMS): what a push must
 * hold to be one, and how the notification and the home screen show it. Pure; the service
 * worker (sw.ts) and the home screen (home.ts) use it.
 */
import { SMS_OTP_PUSH_KIND } from "../core/contracts/app-api-paths";

export interface OtpNotice {
  /** The SMS OTP challenge id (what the acknowledgement names). */
  challengeId: string;
  code: string;
  /** When the code stops working, ms since epoch. */
  expiresAt: number;
}

const CHALLENGE_ID = /^[A-Za-z0-9_-]{22}$/;
const CODE = /^\d{6,8}$/;

/** The login code in a decrypted push, or null when the push is not one (or already expired). */
export function parseOtpPush(data: unknown, now: number): OtpNotice | null {
  if (typeof data !== "object" || data === null) return null;
  const { k, o, code, x } = data as Record<string, unknown>;
  if (k !== SMS_OTP_PUSH_KIND || typeof o !== "string" || !CHALLENGE_ID.test(o)) return null;
  if (typeof code !== "string" || !CODE.test(code)) return null;
  const expiresAt = typeof x === "string" ? Number(x) : Number.NaN;
  if (!Number.isFinite(expiresAt) || expiresAt <= now) return null;
  return { challengeId: o, code, expiresAt };
}

/** "123 456" for six digits, "1234 5678" for eight: easier to read and type. */
export function groupedCode(code: string): string {
  const half = Math.ceil(code.length / 2);
  return `${code.slice(0, half)} ${code.slice(half)}`;
}

/** Minutes left, rounded up, as people say it. */
function validFor(notice: OtpNotice, now: number): string {
  const minutes = Math.max(1, Math.ceil((notice.expiresAt - now) / 60_000));
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

/** The notification: the code in the title, so it shows on a locked screen's one line too. */
export function otpNotification(notice: OtpNotice, now: number): { title: string; body: string } {
  return {
    title: `Login code ${groupedCode(notice.code)}`,
    body: `Type it at the login prompt you just saw. Valid for ${validFor(notice, now)}. Never tell it to anyone.`,
  };
}

/** The home screen's line under the code; null once it expired (the box hides). */
export function otpHomeText(notice: OtpNotice, now: number): string | null {
  if (now >= notice.expiresAt) return null;
  return `For the login you are doing right now; valid for ${validFor(notice, now)}. Never tell it to anyone.`;
}
