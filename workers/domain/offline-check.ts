import type { OfflineCheck } from "../objects/subscriber/contract";
import { maskMsisdn } from "../../core/msisdn";
import type { AuthAudit } from "../store/audit";
import { log } from "../lib/log";

/**
 * Verification paths (offline codes, SMS OTP) answer a verdict, never a 500: an error (the
 * object threw, a secret is missing) is a reject, logged as an alert. An attacker must not be
 * able to tell an error apart from a wrong code, nor get around the lockout through one.
 */
export async function rejectOnError<T>(op: string, run: () => Promise<T>, rejected: T): Promise<T> {
  try {
    return await run();
  } catch (e) {
    log.error("verification_error", { alert: true, op, error: String(e) });
    return rejected;
  }
}

export const REJECTED: OfflineCheck = { verdict: "reject", lockout: null };

/**
 * Audit rows of one offline-code check: the check itself (masked number, result, never the
 * code) and, when it started or lengthened a lockout, a `lockoutChannel` row ("offline-lockout",
 * or "sms-otp-lockout" for SMS OTP) as the alert.
 */
export function offlineAuditRows(
  base: { endpoint: string; msisdn: string; channel: string; latencyMs: number; detail?: Record<string, unknown> },
  check: OfflineCheck,
  lockoutChannel = "offline-lockout",
): AuthAudit[] {
  const row = { ...base, msisdn: maskMsisdn(base.msisdn) };
  const rows: AuthAudit[] = [{ ...row, result: check.verdict }];
  if (check.lockout) {
    rows.push({
      ...row,
      channel: lockoutChannel,
      result: "LOCKED",
      detail: { ...base.detail, via: base.channel, failures: check.lockout.failures, lockSeconds: Math.round(check.lockout.durationMs / 1000) },
    });
  }
  return rows;
}
