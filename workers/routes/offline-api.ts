import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import type { OfflineCheck } from "../objects/subscriber/contract";
import { loadConfig } from "../config/load";
import type { Endpoint } from "../config/schema";
import { checkChallengeResponse, checkTotpCode, offlineAuditRows } from "../domain/offline-check";
import { authenticateKeyedCall } from "../domain/endpoint-keys";
import { MsisdnSchema } from "../../core/contracts/magic-link";
import { CHALLENGE_PATTERN } from "../../core/otp";
import { log } from "../lib/log";
import { badRequest, recordAuth, refuseUnauthenticated } from "./respond";
import { mideyeBadRequest, validate } from "./validate";

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
export const offlineApi = new Hono<OfflineEnv>();

const TotpBody = z.object({ msisdn: MsisdnSchema, code: z.string().max(16) });
const CrBody = z.object({ msisdn: MsisdnSchema, challenge: z.string().regex(CHALLENGE_PATTERN), code: z.string().max(16) });

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

offlineApi.post("/totp/:endpoint?", requireKey, validate("json", TotpBody, mideyeBadRequest("invalid_parameter")), async (c) => {
  const { msisdn, code } = c.req.valid("json");
  const check = await checkTotpCode(c.env, "offline-totp", msisdn, code);
  record(c, "offline-totp", msisdn, check);
  return c.json({ valid: check.verdict === "accept" });
});

offlineApi.post(
  "/challenge-response/:endpoint?",
  requireKey,
  validate("json", CrBody, mideyeBadRequest("invalid_parameter")),
  async (c) => {
    const { msisdn, challenge, code } = c.req.valid("json");
    const check = await checkChallengeResponse(c.env, "offline-challenge-response", msisdn, challenge, code);
    record(c, "offline-challenge-response", msisdn, check);
    return c.json({ valid: check.verdict === "accept" });
  },
);
