import type { OfflineCheck } from "../objects/subscriber/contract";
import { maskMsisdn } from "../../core/msisdn";
import type { AuthAudit } from "../store/audit";
import { log } from "../lib/log";
import { objectStub } from "../lib/durable-objects";

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
      detail: {
        ...base.detail,
        via: base.channel,
        failures: check.lockout.failures,
        lockSeconds: Math.round(check.lockout.durationMs / 1000),
      },
    });
  }
  return rows;
}

/** A TOTP code (the app's, or an enrolled on-prem token's), checked by the number's Subscriber. `op` names the check in alerts. */
export function checkTotpCode(env: Env, op: string, msisdn: string, code: string): Promise<OfflineCheck> {
  return rejectOnError(op, () => objectStub(env, "SUBSCRIBER", msisdn).checkTotp(code), REJECTED);
}

/** The app's offline signature of `challenge`, checked by the number's Subscriber. `op` names the check in alerts. */
export function checkChallengeResponse(env: Env, op: string, msisdn: string, challenge: string, code: string): Promise<OfflineCheck> {
  return rejectOnError(op, () => objectStub(env, "SUBSCRIBER", msisdn).checkSignedChallenge(challenge, code), REJECTED);
}

/**
 * Which offline factors a number has: a TOTP code can be asked for when an operator enrolled
 * a token or the app is activated; a challenge to sign offline only when the app is.
 */
export async function offlineFactors(env: Env, msisdn: string): Promise<{ totp: boolean; app: boolean }> {
  const subscriber = objectStub(env, "SUBSCRIBER", msisdn);
  return { totp: await subscriber.hasOfflineCodes(), app: (await subscriber.device()) !== null };
}
