import { type Context, Hono } from "hono";
import type { z } from "zod";
import {
  activateDevice,
  activationInfo,
  answerChallenge,
  challengeDetails,
  claimDevice,
  pendingForDevice,
  registrationOptionsFor,
  updateDevice,
} from "../domain/app-device";
import type { RelyingParty } from "../lib/webauthn";
import { publicBaseUrl } from "./respond";
import {
  ActivateBodySchema,
  ActivationRequestBodySchema,
  ActivationInfoBodySchema,
  AnswerBodySchema,
  ChallengeBodySchema,
  MsisdnSchema,
  PendingBodySchema,
  SignedBodySchema,
  type AnswerResponse,
  type ChallengeDetails,
} from "../../core/contracts/app-api";
import { APP_API_PATHS } from "../../core/contracts/app-api-paths";
import { maskMsisdn } from "../../core/msisdn";
import { admitAppCall } from "../domain/app-admission";
import { requestActivation } from "../domain/app-activation-request";
import { clientIp } from "../lib/client-ip";
import { logEvent } from "../lib/log";
import { jsonError, validate } from "./validate";
import { PUSH_SERVICE_NOT_ALLOWED, deviceUpdateAllowed, subscriptionAllowed } from "../domain/push-egress";

/**
 * JSON API of the authenticator app. Requests name their number and device; anything that
 * changes state is signed by the device key (ES256 JWS). Nothing here uses cookies, so a
 * cross-site page cannot act for the app.
 */
export const appApi = new Hono<{ Bindings: Env }>();

const json = <T extends z.ZodType>(schema: T) => validate("json", schema, jsonError("invalid_request"));

// Rate limits per client IP and per number before anything else runs (see app-admission.ts).
appApi.use(async (c, next) => {
  const body: unknown = await c.req.json().catch(() => null);
  const msisdn = MsisdnSchema.safeParse((body as { msisdn?: unknown } | null)?.msisdn);
  const admission = await admitAppCall(c.env, c.req.header("cf-connecting-ip"), msisdn.success ? msisdn.data : null);
  if (!admission.ok) {
    logEvent("warn", "app_api_rate_limited", { scope: admission.scope });
    return c.json({ error: "rate_limited" }, 429, { "retry-after": "60" });
  }
  await next();
});

/** WebAuthn's relying party: the edge's public origin, its host as RP ID. */
function relyingParty(c: Context<{ Bindings: Env }>): RelyingParty {
  const base = new URL(publicBaseUrl(c));
  return { origin: base.origin, rpId: base.hostname };
}

const log = (event: string, msisdn: string, extra: Record<string, unknown> = {}) =>
  logEvent("log", event, { msisdn: maskMsisdn(msisdn), ...extra });

/**
 * Activation started in the app: 202 `sent` for every number (whether an SMS goes out is
 * decided after the answer); 429 only for this client address; 404 when not configured.
 */
appApi.post(APP_API_PATHS.activationRequest, json(ActivationRequestBodySchema), async (c) => {
  const r = await requestActivation(c.env, clientIp(c.req.raw.headers), c.req.valid("json").msisdn, publicBaseUrl(c));
  if (r.kind === "disabled") return c.json({ error: "not_enabled" }, 404);
  if (r.kind === "rate_limited") {
    return c.json({ error: "rate_limited" }, 429, { "retry-after": String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))) });
  }
  c.executionCtx.waitUntil(r.delivery);
  return c.json({ status: "sent" }, 202);
});

/**
 * What the app shows before activating: the number the server has bound to the token (the
 * fragment's number is only a lookup key) and whether activating would replace a device.
 */
appApi.post(APP_API_PATHS.activationInfo, json(ActivationInfoBodySchema), async (c) => {
  const { msisdn, token } = c.req.valid("json");
  const info = await activationInfo(c.env, msisdn, token);
  if (!info) return c.json({ error: "invalid_or_used_token" }, 403);
  return c.json({ msisdn, hasDevice: info.hasDevice });
});

/**
 * WebAuthn options for registering this device's platform credential (user verification) at
 * activation; only for the holder of a live activation token, whose hash the challenge is bound to.
 */
appApi.post(APP_API_PATHS.registrationOptions, json(ActivationInfoBodySchema), async (c) => {
  const { msisdn, token } = c.req.valid("json");
  const options = await registrationOptionsFor(c.env, msisdn, token, relyingParty(c));
  if (!options) return c.json({ error: "invalid_or_used_token" }, 403);
  return c.json(options);
});

appApi.post(APP_API_PATHS.activate, json(ActivateBodySchema), async (c) => {
  const body = c.req.valid("json");
  if (!subscriptionAllowed(c.env, body.subscription)) return c.json(PUSH_SERVICE_NOT_ALLOWED, 400);
  const r = await activateDevice(c.env, body, relyingParty(c));
  log("app_activate", body.msisdn, {
    outcome: r.ok ? r.kind : r.reason,
    push: body.subscription !== null,
    userVerification: !!body.webauthn,
  });
  if (!r.ok) {
    if (r.reason === "device_limit") return c.json({ error: "device_limit", max: r.max }, 409);
    if (r.reason === "webauthn_invalid") return c.json({ error: "webauthn_invalid" }, 400);
    return c.json({ error: r.reason === "wrong_code" ? "wrong_code" : "invalid_or_used_token" }, 403);
  }
  if (r.kind === "replacement_pending") {
    return c.json({ status: "replacement_pending", deviceId: r.deviceId, effectiveAt: r.effectiveAt }, 202);
  }
  return c.json({ deviceId: r.deviceId, seed: r.seed });
});

/** A replacing device takes over after its grace window (signed `claim`); 409 while it waits. */
appApi.post(APP_API_PATHS.claim, json(SignedBodySchema), async (c) => {
  const { msisdn, deviceId, jws } = c.req.valid("json");
  const r = await claimDevice(c.env, msisdn, deviceId, jws);
  log("app_claim", msisdn, { outcome: r.kind });
  switch (r.kind) {
    case "activated":
      return c.json({ status: "activated", seed: r.seed });
    case "waiting":
      return c.json({ error: "replacement_pending", effectiveAt: r.effectiveAt }, 409);
    case "unknown_device":
      return c.json({ error: "unknown_device" }, 404);
    case "device_limit":
      return c.json({ error: "device_limit", max: r.max }, 409);
    case "refused":
      return c.json({ error: "refused" }, 403);
  }
});

appApi.post(APP_API_PATHS.pending, json(PendingBodySchema), async (c) => {
  const { msisdn, ...read } = c.req.valid("json");
  const pending = await pendingForDevice(c.env, msisdn, read, "pending");
  if (pending === null) return c.json({ error: "unknown_device" }, 404);
  if (pending === "bad_signature") return c.json({ error: "bad_signature" }, 403);
  return c.json({
    challenges: pending.challenges,
    push: pending.push,
    ...(pending.replacement ? { replacement: pending.replacement } : {}),
  });
});

/** The number's devices by name (this one marked `self`), for the app's device list. */
appApi.post(APP_API_PATHS.devices, json(PendingBodySchema), async (c) => {
  const { msisdn, ...read } = c.req.valid("json");
  const pending = await pendingForDevice(c.env, msisdn, read, "devices");
  if (pending === null) return c.json({ error: "unknown_device" }, 404);
  if (pending === "bad_signature") return c.json({ error: "bad_signature" }, 403);
  return c.json({ devices: pending.devices });
});

appApi.post(APP_API_PATHS.challenge, json(ChallengeBodySchema), async (c) => {
  const { msisdn, challengeId, ...read } = c.req.valid("json");
  const view = await challengeDetails(c.env, msisdn, read, challengeId);
  switch (view.kind) {
    case "not_found":
      return c.json({ status: "not_found" }, 404);
    case "bad_signature":
      return c.json({ error: "bad_signature" }, 403);
    case "finished":
      return c.json({ status: "finished", result: view.status }, 410);
    case "pending": {
      const { kind: _kind, ...details } = view;
      return c.json({ status: "pending", ...details } satisfies ChallengeDetails);
    }
  }
});

appApi.post(APP_API_PATHS.answer, json(AnswerBodySchema), async (c) => {
  const { msisdn, ...answer } = c.req.valid("json");
  const r = await answerChallenge(c.env, msisdn, answer, relyingParty(c));
  log("app_answer", msisdn, {
    outcome: r.kind,
    device: answer.deviceId.slice(0, 8),
    ...(r.kind === "decided" ? { status: r.status, numberMismatch: r.numberMismatch } : {}),
  });
  const ok = (body: AnswerResponse) => c.json(body);
  switch (r.kind) {
    case "decided":
      return ok({ status: r.status, text: r.text, numberMismatch: r.numberMismatch });
    case "choose_approver":
      return ok({ status: "choose_approver", title: r.title, approvers: r.approvers, nonce: r.nonce });
    case "asked":
      return ok({ status: "asked", approverName: r.approverName });
    case "finished":
      return c.json({ status: "finished", result: r.status }, 410);
    case "stale_nonce":
      return c.json({ error: "stale_nonce" }, 409);
    case "uv_required":
    case "uv_unavailable":
      // Nothing changed: the sign-in still waits for an answer that counts.
      return c.json({ error: r.kind }, 403);
    case "unknown_device":
      return c.json({ error: "unknown_device" }, 404);
    case "bad_signature":
      return c.json({ error: "bad_signature" }, 403);
    case "unknown_challenge":
    case "not_found":
      return c.json({ error: "unknown_challenge" }, 404);
  }
});

appApi.post(APP_API_PATHS.device, json(SignedBodySchema), async (c) => {
  const { msisdn, deviceId, jws } = c.req.valid("json");
  if (!deviceUpdateAllowed(c.env, jws)) return c.json(PUSH_SERVICE_NOT_ALLOWED, 400);
  const r = await updateDevice(c.env, msisdn, deviceId, jws);
  log("app_device_update", msisdn, { outcome: r });
  if (r === "refused") return c.json({ error: "refused" }, 403);
  return c.json({ status: r });
});
