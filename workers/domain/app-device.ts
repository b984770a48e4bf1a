import type { z } from "zod";
import type { AppDecideOutcome, AppView } from "../objects/auth-session/contract";
import type { ClaimResult, DeviceUpdateResult } from "../objects/subscriber/contract";
import { vapidFromEnv } from "../config/app-secrets";
import { loadConfig } from "../config/load";
import type { ActivateBodySchema } from "../../core/contracts/app-api";
import { ACTIVATION_CODE_DIGITS, activationCodeMac, activationCodeText } from "../../core/device-activation";
import { log } from "../lib/log";
import { maskMsisdn } from "../../core/msisdn";
import { pushHostsFromEnv } from "../lib/push-hosts";
import { randomDigits } from "../../core/otp";
import { randomToken, sha256Hex } from "../../core/tokens";
import { sendWebPush } from "../push/web-push";
import { smsProviderFromEnv } from "../sms/from-env";
import { auditAdmin } from "../store/audit";
import { objectStub } from "../lib/durable-objects";

/**
 * The authenticator app's flows across the two objects involved: the Subscriber (one per
 * number: device, signatures, challenge index) and the AuthSession (one per sign-in).
 * Routes validate; this decides who is asked what, in which order.
 */

/** How long an activation token from the SMS link page stays usable. */
export const ACTIVATION_TTL_MS = 10 * 60_000;

/** Audit rows of the device lifecycle (masked number, no keys, tokens or codes). */
async function auditDevice(env: Env, msisdn: string, action: string, detail?: Record<string, unknown>): Promise<void> {
  await auditAdmin(env.DB, { actor: "authenticator-app", action, msisdn: maskMsisdn(msisdn), ...(detail ? { detail } : {}) }).catch(
    (e: unknown) => log.error("audit_write_failed", { error: String(e) }),
  );
}

/**
 * Issues a one-time activation token for the holder of a live SMS link, and sends a separate
 * one-time code to the number by SMS: the token alone (seen in a lock-screen preview or a
 * forwarded SMS) cannot activate.
 */
export async function issueActivationToken(env: Env, sessionName: string, csrf: string) {
  const grant = await objectStub(env, "AUTH_SESSION", sessionName).activationGrant(csrf);
  if (grant.kind !== "granted") return grant;
  const token = randomToken();
  const code = randomDigits(ACTIVATION_CODE_DIGITS);
  const stored = await objectStub(env, "SUBSCRIBER", grant.msisdn).grantActivation(
    await sha256Hex(token),
    Date.now() + ACTIVATION_TTL_MS,
    await activationCodeMac(token, code),
  );
  if (!stored) return { kind: "rate_limited" as const };
  try {
    await smsProviderFromEnv(env).send({ to: grant.msisdn, text: activationCodeText(code), link: "" });
  } catch (e) {
    log.error("delivery_failed", { channel: "activation-code", error: String(e) });
    return { kind: "delivery_failed" as const };
  }
  return { kind: "granted" as const, token, msisdn: grant.msisdn };
}

export async function activationInfo(env: Env, msisdn: string, token: string) {
  return objectStub(env, "SUBSCRIBER", msisdn).activationInfo(await sha256Hex(token));
}

/**
 * What the app lists when opened: the device's pending challenges, whether it gets pushes,
 * and a replacement another device asked for (null: not this number's device).
 */
export async function pendingForDevice(env: Env, msisdn: string, deviceId: string) {
  const subscriber = objectStub(env, "SUBSCRIBER", msisdn);
  const pending = await subscriber.pendingChallenges(deviceId);
  if (pending === null) return null;
  const device = await subscriber.device();
  return { challenges: pending.challenges, push: device?.push ?? false, replacement: pending.replacement };
}

/** Token + code activate; with a device already there, it is told and the new one waits. */
export async function activateDevice(env: Env, body: z.output<typeof ActivateBodySchema>) {
  const graceMs = loadConfig(env).deviceReplacementGraceSeconds * 1000;
  const r = await objectStub(env, "SUBSCRIBER", body.msisdn).activate(
    await sha256Hex(body.token),
    await activationCodeMac(body.token, body.code),
    body.publicKey,
    body.subscription,
    graceMs,
  );
  if (r.ok && r.kind === "activated") await auditDevice(env, body.msisdn, "app_device_activated", { push: body.subscription !== null });
  if (r.ok && r.kind === "replacement_pending") {
    await auditDevice(env, body.msisdn, "app_device_replacement_requested", { effectiveAt: r.effectiveAt });
    if (r.replaced.subscription) await notifyReplacement(env, r.replaced.subscription, graceMs);
  }
  return r;
}

/** A push to the current device: "another phone asks to take over" (it carries nothing else). */
async function notifyReplacement(env: Env, subscription: NonNullable<Parameters<typeof sendWebPush>[0]>, graceMs: number) {
  let vapid: ReturnType<typeof vapidFromEnv>;
  try {
    vapid = vapidFromEnv(env);
  } catch {
    vapid = null;
  }
  if (!vapid) return;
  const r = await sendWebPush(subscription, { r: "replacement" }, vapid, {
    ttlSeconds: graceMs / 1000,
    timeoutMs: 5_000,
    allowedHosts: pushHostsFromEnv(env),
  });
  if (r.kind !== "delivered") log.warn("replacement_push_failed", { result: r.kind });
}

/** The replacing device takes over once its window passed. */
export async function claimDevice(env: Env, msisdn: string, deviceId: string, jws: string): Promise<ClaimResult> {
  const r = await objectStub(env, "SUBSCRIBER", msisdn).claimReplacement(deviceId, jws);
  if (r.kind === "activated" && r.replaced) await auditDevice(env, msisdn, "app_device_replaced");
  return r;
}

export async function updateDevice(env: Env, msisdn: string, deviceId: string, jws: string): Promise<DeviceUpdateResult> {
  const r = await objectStub(env, "SUBSCRIBER", msisdn).updateDevice(deviceId, jws);
  if (r === "replacement_refused") await auditDevice(env, msisdn, "app_device_replacement_refused");
  if (r === "removed") await auditDevice(env, msisdn, "app_device_removed");
  return r;
}

export async function challengeDetails(env: Env, msisdn: string, deviceId: string, challengeId: string): Promise<AppView> {
  const session = await objectStub(env, "SUBSCRIBER", msisdn).challengeSession(deviceId, challengeId);
  if (!session) return { kind: "not_found" };
  return objectStub(env, "AUTH_SESSION", session).appView(challengeId);
}

export type AnswerOutcome = AppDecideOutcome | { kind: "unknown_device" } | { kind: "bad_signature" } | { kind: "unknown_challenge" };

/** Signature first (Subscriber holds the device key), then the session decides. */
export async function answerChallenge(env: Env, msisdn: string, deviceId: string, jws: string): Promise<AnswerOutcome> {
  const check = await objectStub(env, "SUBSCRIBER", msisdn).checkAnswer(deviceId, jws);
  if (!check.ok) return { kind: check.reason };
  return objectStub(env, "AUTH_SESSION", check.session).appDecide(check.claims);
}
