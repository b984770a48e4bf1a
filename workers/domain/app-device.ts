import { type SessionApi, sessionAt } from "./session-address";
import type { z } from "zod";
import type { AppDecideOutcome, AppView } from "../objects/auth-session/contract";
import type { ActivateResult, ClaimResult, DeviceUpdateResult } from "../objects/subscriber/contract";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { UNNAMED_DEVICE, type UvCredential } from "../../core/device-activation";
import { registrationChallenge } from "../../core/user-verification";
import { type RelyingParty, registrationOptions, verifyRegistration } from "../lib/webauthn";
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
export async function issueActivationToken(env: Env, session: Pick<SessionApi, "activationGrant">, csrf: string) {
  const grant = await session.activationGrant(csrf);
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
 * What the app lists when opened, for a read the device signed: the number's pending
 * challenges, whether this device gets pushes, a join another device asked for, and the
 * number's devices by name. null: not one of this number's devices; "bad_signature": not
 * signed by it for this read, or stale.
 */
export async function pendingForDevice(env: Env, msisdn: string, read: { deviceId: string; jws: string }, what: "pending" | "devices") {
  const pending = await objectStub(env, "SUBSCRIBER", msisdn).pendingChallenges(read.deviceId, read.jws, what);
  if (pending === null) return null;
  if ("refused" in pending) return "bad_signature" as const;
  const self = pending.devices.find((d) => d.self);
  return { challenges: pending.challenges, push: self?.push ?? false, replacement: pending.replacement, devices: pending.devices };
}

/** A user name for the platform authenticator's account list: the masked number. */
const uvUserName = (msisdn: string) => `Edge MFA ${maskMsisdn(msisdn)}`;

/**
 * WebAuthn registration options for the holder of a live activation token (null: no such
 * token): a platform credential with user verification, its challenge bound to the token.
 */
export async function registrationOptionsFor(env: Env, msisdn: string, token: string, rp: RelyingParty) {
  const tokenHash = await sha256Hex(token);
  if (!(await objectStub(env, "SUBSCRIBER", msisdn).activationInfo(tokenHash))) return null;
  const name = uvUserName(msisdn);
  return registrationOptions(rp, { name, displayName: name }, await registrationChallenge(tokenHash));
}

export type ActivateOutcome = ActivateResult | { ok: false; reason: "webauthn_invalid" };

/**
 * Token + code activate; with devices already there, they are told and the new one waits to
 * join. A WebAuthn registration that came with it must verify (else nothing is activated).
 */
export async function activateDevice(env: Env, body: z.output<typeof ActivateBodySchema>, rp: RelyingParty): Promise<ActivateOutcome> {
  const config = loadConfig(env);
  const graceMs = config.deviceReplacementGraceSeconds * 1000;
  const tokenHash = await sha256Hex(body.token);
  let uv: UvCredential | null = null;
  if (body.webauthn) {
    const registered = await verifyRegistration(body.webauthn as RegistrationResponseJSON, await registrationChallenge(tokenHash), rp);
    if (!registered.ok) {
      log.warn("uv_registration_refused", { reason: registered.reason });
      return { ok: false, reason: "webauthn_invalid" };
    }
    uv = registered.credential;
  }
  const name = body.name ?? UNNAMED_DEVICE;
  const r = await objectStub(env, "SUBSCRIBER", body.msisdn).activate(
    tokenHash,
    await activationCodeMac(body.token, body.code),
    { publicKey: body.publicKey, subscription: body.subscription, name, uv },
    graceMs,
    config.maxDevicesPerNumber,
  );
  const detail = { deviceId: r.ok ? r.deviceId : undefined, name, push: body.subscription !== null, userVerification: uv !== null };
  if (r.ok && r.kind === "activated") await auditDevice(env, body.msisdn, "app_device_activated", detail);
  if (r.ok && r.kind === "replacement_pending") {
    await auditDevice(env, body.msisdn, "app_device_replacement_requested", { ...detail, effectiveAt: r.effectiveAt });
    await Promise.all(r.existing.map((d) => (d.subscription ? notifyReplacement(env, d.subscription, graceMs) : null)));
  }
  if (!r.ok && r.reason === "device_limit") await auditDevice(env, body.msisdn, "app_device_limit_refused", { max: r.max });
  return r;
}

/** A push to an existing device: "another device asks to join" (it carries nothing else). */
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

/** The joining device takes effect once its window passed. */
export async function claimDevice(env: Env, msisdn: string, deviceId: string, jws: string): Promise<ClaimResult> {
  const r = await objectStub(env, "SUBSCRIBER", msisdn).claimReplacement(deviceId, jws, loadConfig(env).maxDevicesPerNumber);
  // The audit action keeps its name from when a new device replaced the one device.
  if (r.kind === "activated" && r.replaced) await auditDevice(env, msisdn, "app_device_replaced", { deviceId, name: r.name });
  return r;
}

export async function updateDevice(env: Env, msisdn: string, deviceId: string, jws: string): Promise<DeviceUpdateResult> {
  const r = await objectStub(env, "SUBSCRIBER", msisdn).updateDevice(deviceId, jws);
  if (r === "replacement_refused") await auditDevice(env, msisdn, "app_device_replacement_refused", { by: deviceId });
  if (r === "replacement_approved") await auditDevice(env, msisdn, "app_device_replacement_approved", { by: deviceId });
  if (r === "removed") await auditDevice(env, msisdn, "app_device_removed", { deviceId });
  return r;
}

export async function challengeDetails(
  env: Env,
  msisdn: string,
  read: { deviceId: string; jws: string },
  challengeId: string,
): Promise<AppView | { kind: "bad_signature" }> {
  const found = await objectStub(env, "SUBSCRIBER", msisdn).challengeSession(read.deviceId, challengeId, read.jws);
  if (!found) return { kind: "not_found" };
  if ("refused" in found) return { kind: "bad_signature" };
  return sessionAt(env, { name: found.session, host: found.hosted ? msisdn : null }).appView(challengeId, found.device);
}

export type AnswerOutcome = AppDecideOutcome | { kind: "unknown_device" } | { kind: "bad_signature" } | { kind: "unknown_challenge" };

/**
 * Signature (and a user-verification assertion, if one came) first: the Subscriber holds the
 * device's key and credential; then the session decides, per its endpoint's approval policy.
 */
export async function answerChallenge(
  env: Env,
  msisdn: string,
  answer: { deviceId: string; jws: string; webauthn?: unknown },
  rp: RelyingParty,
): Promise<AnswerOutcome> {
  const assertion = answer.webauthn as AuthenticationResponseJSON | undefined;
  const check = await objectStub(env, "SUBSCRIBER", msisdn).checkAnswer(answer.deviceId, answer.jws, assertion, rp);
  if (!check.ok) return { kind: check.reason };
  return sessionAt(env, { name: check.session, host: check.hosted ? msisdn : null }).appDecide(check.claims, check.device, check.uv);
}
