import type { Endpoint } from "../config/schema";
import { loadConfig } from "../config/load";
import type { OfflineCheck } from "../objects/subscriber/contract";
import { randomDigits } from "../../core/otp";
import { smsProviderFromEnv } from "../sms/from-env";
import { log } from "../lib/log";
import { REJECTED, rejectOnError } from "./offline-check";
import { objectStub } from "../lib/durable-objects";

/**
 * SMS OTP for RADIUS logins (relay API): a one-time code generated here, kept by the number's
 * Subscriber object (so no OTP secret lives on-prem), sent by SMS, then checked there.
 */
const SMS_OTP_TTL_MS = 5 * 60_000;

export type SmsOtpStart =
  | { kind: "sent"; challengeId: string }
  | { kind: "rate_limited" }
  /** Too many wrong SMS codes lately: no SMS; the relay rejects (or falls back to offline codes). */
  | { kind: "locked" }
  | { kind: "failed_delivery" };

/** Admits the request (the endpoint's rate limit), opens a challenge and sends its code. */
export async function startSmsOtp(env: Env, endpoint: Endpoint, msisdn: string): Promise<SmsOtpStart> {
  const config = loadConfig(env);
  const subscriber = objectStub(env, "SUBSCRIBER", msisdn);
  const rate = await subscriber.admit(endpoint.rateLimit ?? config.rateLimit);
  if (!rate.allowed) return { kind: "rate_limited" };
  const code = randomDigits(6);
  const challengeId = await subscriber.startSmsOtp(code, SMS_OTP_TTL_MS);
  if (challengeId === null) return { kind: "locked" };
  try {
    await smsProviderFromEnv(env).send({ to: msisdn, text: `Your login code is ${code}`, link: "" });
  } catch (e) {
    await subscriber.cancelSmsOtp(challengeId);
    log.error("delivery_failed", { channel: "sms-otp", error: String(e) });
    return { kind: "failed_delivery" };
  }
  return { kind: "sent", challengeId };
}

/** The code the user typed, against the challenge; an error is a reject (rejectOnError). */
export function verifySmsOtp(env: Env, msisdn: string, challengeId: string, code: string): Promise<OfflineCheck> {
  return rejectOnError("sms-otp-verify", () => objectStub(env, "SUBSCRIBER", msisdn).checkSmsOtp(challengeId, code), REJECTED);
}
