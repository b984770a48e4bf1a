/** How the app shows its codes (pure, unit-tested in test/worker/unit/app-display.test.ts). */
import { TOTP_PERIOD } from "../core/otp";

export interface TotpDisplay {
  /** The code in two groups of three digits, easier to read and type. */
  code: string;
  secondsLeft: string;
  /** The countdown bar's width: the share of the time step still left. */
  barWidth: string;
}

export function totpDisplay(code: string, nowMs: number): TotpDisplay {
  const left = TOTP_PERIOD - (Math.floor(nowMs / 1000) % TOTP_PERIOD);
  return { code: `${code.slice(0, 3)} ${code.slice(3)}`, secondsLeft: `${left} s`, barWidth: `${(left / TOTP_PERIOD) * 100}%` };
}

/** The challenge-response code in two groups of four digits. */
export function responseCodeText(code: string): string {
  return `Type this code: ${code.slice(0, 4)} ${code.slice(4)}`;
}
