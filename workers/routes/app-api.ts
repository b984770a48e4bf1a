import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import type { z } from "zod";
import { activateDevice, answerChallenge, challengeDetails } from "../domain/app-device";
import {
  ActivateBodySchema,
  ChallengeBodySchema,
  PendingBodySchema,
  SignedBodySchema,
  type AnswerResponse,
  type ChallengeDetails,
} from "../lib/app-schemas";
import { maskMsisdn } from "../lib/msisdn";
import { logEvent } from "../lib/log";
import { PUSH_SERVICE_NOT_ALLOWED, deviceUpdateAllowed, subscriptionAllowed } from "../domain/push-egress";

/**
 * JSON API of the authenticator app. Requests name their number and device; anything that
 * changes state is signed by the device key (ES256 JWS). Nothing here uses cookies, so a
 * cross-site page cannot act for the app.
 */
export const appApi = new Hono<{ Bindings: Env }>();

const json = <T extends z.ZodType>(schema: T) =>
  zValidator("json", schema, (r, c) => {
    if (!r.success) return c.json({ error: "invalid_request" }, 400);
  });

const log = (event: string, msisdn: string, extra: Record<string, unknown> = {}) => logEvent("log", event, { msisdn: maskMsisdn(msisdn), ...extra });

appApi.post("/app/api/activate", json(ActivateBodySchema), async (c) => {
  const body = c.req.valid("json");
  if (!subscriptionAllowed(c.env, body.subscription)) return c.json(PUSH_SERVICE_NOT_ALLOWED, 400);
  const r = await activateDevice(c.env, body);
  log("app_activate", body.msisdn, { ok: r.ok, push: body.subscription !== null });
  if (!r.ok) return c.json({ error: "invalid_or_used_token" }, 403);
  return c.json({ deviceId: r.deviceId, seed: r.seed });
});

appApi.post("/app/api/pending", json(PendingBodySchema), async (c) => {
  const { msisdn, deviceId } = c.req.valid("json");
  const subscriber = c.env.SUBSCRIBER.getByName(msisdn);
  const challenges = await subscriber.pendingChallenges(deviceId);
  if (challenges === null) return c.json({ error: "unknown_device" }, 404);
  const device = await subscriber.device();
  return c.json({ challenges, push: device?.push ?? false });
});

appApi.post("/app/api/challenge", json(ChallengeBodySchema), async (c) => {
  const { msisdn, deviceId, challengeId } = c.req.valid("json");
  const view = await challengeDetails(c.env, msisdn, deviceId, challengeId);
  switch (view.kind) {
    case "not_found":
      return c.json({ status: "not_found" }, 404);
    case "finished":
      return c.json({ status: "finished", result: view.status }, 410);
    case "pending": {
      const { kind: _kind, ...details } = view;
      return c.json({ status: "pending", ...details } satisfies ChallengeDetails);
    }
  }
});

appApi.post("/app/api/answer", json(SignedBodySchema), async (c) => {
  const { msisdn, deviceId, jws } = c.req.valid("json");
  const r = await answerChallenge(c.env, msisdn, deviceId, jws);
  log("app_answer", msisdn, { outcome: r.kind, ...(r.kind === "decided" ? { status: r.status, numberMismatch: r.numberMismatch } : {}) });
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
    case "unknown_device":
      return c.json({ error: "unknown_device" }, 404);
    case "bad_signature":
      return c.json({ error: "bad_signature" }, 403);
    case "unknown_challenge":
    case "not_found":
      return c.json({ error: "unknown_challenge" }, 404);
  }
});

appApi.post("/app/api/device", json(SignedBodySchema), async (c) => {
  const { msisdn, deviceId, jws } = c.req.valid("json");
  if (!deviceUpdateAllowed(c.env, jws)) return c.json(PUSH_SERVICE_NOT_ALLOWED, 400);
  const r = await c.env.SUBSCRIBER.getByName(msisdn).updateDevice(deviceId, jws);
  log("app_device_update", msisdn, { outcome: r });
  if (r === "refused") return c.json({ error: "refused" }, 403);
  return c.json({ status: r });
});
