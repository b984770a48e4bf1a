import type { Endpoint } from "../config/schema";
import { loadConfig } from "../config/load";
import { vapidFromEnv } from "../config/app-secrets";
import type { OfflineCheck, SmsOtpStarted } from "../objects/subscriber/contract";
import { randomDigits } from "../../core/otp";
import { SMS_OTP_PUSH_KIND } from "../../core/contracts/app-api-paths";
import { smsProviderFromEnv } from "../sms/from-env";
import { pushHostsFromEnv } from "../lib/push-hosts";
import { pushToDevices } from "../push/push-to-devices";
import { log, logEvent } from "../lib/log";
import { REJECTED, rejectOnError } from "./offline-check";
import { objectStub } from "../lib/durable-objects";

/**
 * SMS OTP for RADIUS logins (relay API): a one-time code generated here, kept by the number's
 * Subscriber object (so no OTP secret lives on-prem), then checked there. When the number has
 * an activated app (a device with a push subscription) and the endpoint uses push, the code
 * goes to every such device inside the encrypted push payload, and the SMS follows only after
 * the endpoint's pushGraceSeconds unless a device acknowledges the push (the Subscriber's
 * alarm), or at once when no push went through. Otherwise the SMS goes at once, as before.
 */
const SMS_OTP_TTL_MS = 5 * 60_000;
/** Bound on one push request: the relay waits for this call, and the SMS may be owed at once. */
const PUSH_TIMEOUT_MS = 5000;

export type SmsOtpStart =
  /** `delivery`: "app" when a push service took the code (the SMS may follow), else "sms". */
  | { kind: "sent"; challengeId: string; delivery: "app" | "sms" }
  | { kind: "rate_limited" }
  /** Too many wrong SMS codes lately: no SMS; the relay rejects (or falls back to offline codes). */
  | { kind: "locked" }
  | { kind: "failed_delivery" };

export function smsOtpText(code: string): string {
  return `Your login code is ${code}`;
}

/** Admits the request (the endpoint's rate limit), opens a challenge and delivers its code. */
export async function startSmsOtp(env: Env, endpoint: Endpoint, msisdn: string): Promise<SmsOtpStart> {
  const config = loadConfig(env);
  const subscriber = objectStub(env, "SUBSCRIBER", msisdn);
  const rate = await subscriber.admit(endpoint.rateLimit ?? config.rateLimit);
  if (!rate.allowed) return { kind: "rate_limited" };
  const code = randomDigits(6);
  const text = smsOtpText(code);
  const push = endpoint.usePush ? pushConfig(env) : null;
  const started: SmsOtpStarted | null = push
    ? await subscriber.startPushedSmsOtp(code, SMS_OTP_TTL_MS, { to: msisdn, text, graceMs: endpoint.pushGraceSeconds * 1000 })
    : await subscriber.startSmsOtp(code, SMS_OTP_TTL_MS).then((id) => (id === null ? null : { challengeId: id, devices: [] }));
  if (started === null) return { kind: "locked" };
  const { challengeId } = started;
  if (push && started.devices.length > 0) {
    if (await pushCode(subscriber, push, started, code, endpoint.name)) return { kind: "sent", challengeId, delivery: "app" };
    // No push went through: the SMS now, unless the alarm or an acknowledgement took it already.
    if (!(await subscriber.takeOwedSmsOtp(challengeId))) return { kind: "sent", challengeId, delivery: "sms" };
  }
  try {
    await smsProviderFromEnv(env).send({ to: msisdn, text, link: "" });
  } catch (e) {
    await subscriber.cancelSmsOtp(challengeId);
    log.error("delivery_failed", { channel: "sms-otp", error: String(e) });
    return { kind: "failed_delivery" };
  }
  return { kind: "sent", challengeId, delivery: "sms" };
}

type PushConfig = NonNullable<ReturnType<typeof pushConfig>>;

/** VAPID keys and the allowed push hosts; null when push is off or misconfigured (SMS then). */
function pushConfig(env: Env) {
  try {
    const vapid = vapidFromEnv(env);
    return vapid ? { vapid, allowedHosts: pushHostsFromEnv(env) } : null;
  } catch (e) {
    logEvent("error", "push_misconfigured", { error: String(e) });
    return null;
  }
}

/**
 * Pushes the code to each device (the code travels only inside the RFC 8291 encrypted
 * payload); a device whose push service says it is gone is forgotten. True when at least one
 * push service took it.
 */
async function pushCode(
  subscriber: { forgetDevice(deviceId: string): Promise<boolean> },
  push: PushConfig,
  started: SmsOtpStarted,
  code: string,
  endpoint: string,
): Promise<boolean> {
  const data = { k: SMS_OTP_PUSH_KIND, o: started.challengeId, code, x: String(Date.now() + SMS_OTP_TTL_MS) };
  const options = { ttlSeconds: SMS_OTP_TTL_MS / 1000, timeoutMs: PUSH_TIMEOUT_MS, allowedHosts: push.allowedHosts };
  const results = await pushToDevices(started.devices, data, push.vapid, options);
  let delivered = false;
  for (const { deviceId, result } of results) {
    if (result.kind === "delivered") delivered = true;
    else if (result.kind === "gone") {
      logEvent("warn", "push_gone", { endpoint, role: "sms-otp", status: result.status });
      // The push service says the subscription is dead: that app was removed or reset.
      await subscriber.forgetDevice(deviceId);
    } else logEvent("warn", "push_failed", { endpoint, role: "sms-otp", error: result.reason });
  }
  return delivered;
}

/** Verifies the code the user typed, against the challenge; an error is a reject (rejectOnError). */
export function verifySmsOtp(env: Env, msisdn: string, challengeId: string, code: string): Promise<OfflineCheck> {
  return rejectOnError("sms-otp-verify", () => objectStub(env, "SUBSCRIBER", msisdn).checkSmsOtp(challengeId, code), REJECTED);
}
