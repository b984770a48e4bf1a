import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { OfflineCheck } from "../objects/subscriber/contract";
import { loadConfig } from "../config/load";
import type { Endpoint } from "../config/schema";
import { checkChallengeResponse, checkTotpCode, offlineAuditRows } from "../domain/offline-check";
import { authenticateKeyedCall } from "../domain/endpoint-keys";
import { OfflineAnswerSchema, OfflineChallengeResponseSchema, OfflineTotpSchema } from "../../core/contracts/offline-api";
import { log } from "../lib/log";
import { badRequest, recordAuth, refuseUnauthenticated } from "./respond";
import { mideyeBadRequest } from "./validate";
import { jsonBody, jsonResponse, serve } from "./openapi-route";
import { API_KEY_SECURITY, EndpointParam, bodyTooLargeResponse, offlineBadRequestResponses } from "./openapi-common";

/**
 * Offline-code verification for RADIUS servers of your own (issue 3): the app's TOTP codes
 * and challenge-response signatures, checked by the number's Subscriber object (which keeps
 * the seed, the replay state and the lockout). Authenticated with an API key of an endpoint
 * that opted in with `offlineCodes: true`: a check can lock a number's offline codes, so not
 * every tenant's key may make one. Each check is audited; an error is a reject, never a 500.
 *
 *   POST /api/offline/totp[/{endpoint}]                {"msisdn":"+46…","code":"123456"}
 *   POST /api/offline/challenge-response[/{endpoint}]  {"msisdn":"+46…","challenge":"482913","code":"12345678"}
 *   -> 200 {"valid":true|false}
 */
type OfflineEnv = { Bindings: Env; Variables: { endpoint: Endpoint; started: number } };
export const offlineApi = new OpenAPIHono<OfflineEnv>();

/** Same key check as the Magic Link API (the endpoint from the path, else the default), plus the opt-in. */
const requireKey = createMiddleware<OfflineEnv>(async (c, next) => {
  const started = Date.now();
  const config = loadConfig(c.env);
  const name = c.req.param("endpoint") ?? config.defaultEndpoint;
  const call = await authenticateKeyedCall(c.env, config, name, c.req.header("api-key"));
  if (!call.ok)
    return refuseUnauthenticated(c, {
      requested: name,
      endpoint: call.endpoint ? name : null,
      reason: call.reason,
      msisdn: null,
      latencyMs: 0,
    });
  if (!call.endpoint.offlineCodes) {
    log.warn("offline_codes_refused", { endpoint: call.endpoint.name });
    return badRequest(c, "offline_codes_disabled");
  }
  c.set("endpoint", call.endpoint);
  c.set("started", started);
  await next();
});

/** Log line and audit row per check (and one more when it started a lockout). */
function record(c: Context<OfflineEnv>, channel: string, msisdn: string, check: OfflineCheck) {
  const base = { endpoint: c.get("endpoint").name, msisdn, channel, latencyMs: Date.now() - c.get("started") };
  for (const row of offlineAuditRows(base, check)) recordAuth(c, "offline", row);
}

const responses = {
  200: jsonResponse(OfflineAnswerSchema, "Checked: valid or not (also false when the number is locked out, or on an error)."),
  ...offlineBadRequestResponses,
  413: bodyTooLargeResponse,
};
const check = { method: "post" as const, tags: ["Offline codes"], security: API_KEY_SECURITY, middleware: requireKey, responses };
const totp = {
  ...check,
  summary: "Check a TOTP code of the number's authenticator app",
  request: { body: jsonBody(OfflineTotpSchema) },
};
const challengeResponse = {
  ...check,
  summary: "Check the app's offline signature of a challenge",
  request: { body: jsonBody(OfflineChallengeResponseSchema) },
};
const named = { params: EndpointParam };

async function checkTotp(c: Context<OfflineEnv>, { msisdn, code }: { msisdn: string; code: string }) {
  const check = await checkTotpCode(c.env, "offline-totp", msisdn, code);
  record(c, "offline-totp", msisdn, check);
  return c.json({ valid: check.verdict === "accept" }, 200);
}

async function checkSignature(c: Context<OfflineEnv>, { msisdn, challenge, code }: { msisdn: string; challenge: string; code: string }) {
  const check = await checkChallengeResponse(c.env, "offline-challenge-response", msisdn, challenge, code);
  record(c, "offline-challenge-response", msisdn, check);
  return c.json({ valid: check.verdict === "accept" }, 200);
}

// Each check on two paths: the default endpoint's and a named one's (OpenAPI has no optional path parameters).
const invalid = mideyeBadRequest("invalid_parameter");
serve(offlineApi, createRoute({ ...totp, path: "/totp" }), invalid, (c) => checkTotp(c, c.req.valid("json")));
serve(offlineApi, createRoute({ ...totp, path: "/totp/{endpoint}", request: { ...totp.request, ...named } }), invalid, (c) =>
  checkTotp(c, c.req.valid("json")),
);
serve(offlineApi, createRoute({ ...challengeResponse, path: "/challenge-response" }), invalid, (c) =>
  checkSignature(c, c.req.valid("json")),
);
serve(
  offlineApi,
  createRoute({ ...challengeResponse, path: "/challenge-response/{endpoint}", request: { ...challengeResponse.request, ...named } }),
  invalid,
  (c) => checkSignature(c, c.req.valid("json")),
);
