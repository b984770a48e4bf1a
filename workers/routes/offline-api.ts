import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { loadConfig } from "../config/load";
import { ENDPOINT_NAME } from "../config/schema";
import { resolveEndpoint } from "../store/endpoints";
import { authenticateApiKey } from "../lib/api-keys";
import { MsisdnSchema } from "../lib/auth-params";
import { CHALLENGE_PATTERN } from "../lib/otp";
import { badRequest, refuseUnauthenticated } from "./respond";

/**
 * Offline-code verification for the on-prem RADIUS relay (issue 3): the app's TOTP codes and
 * challenge-response signatures, checked by the number's Subscriber object (which keeps the
 * seed and the replay state). Authenticated with an endpoint API key like the Magic Link API.
 *
 *   POST /api/offline/totp[/{endpoint}]                {"msisdn":"+46…","code":"123456"}
 *   POST /api/offline/challenge-response[/{endpoint}]  {"msisdn":"+46…","challenge":"482913","code":"12345678"}
 *   -> 200 {"valid":true|false}
 */
export const offlineApi = new Hono<{ Bindings: Env }>();

const TotpBody = z.object({ msisdn: MsisdnSchema, code: z.string().max(16) });
const CrBody = z.object({ msisdn: MsisdnSchema, challenge: z.string().regex(CHALLENGE_PATTERN), code: z.string().max(16) });

/** Same key check as the Magic Link API: the endpoint from the path, else the default. */
const requireKey = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const config = loadConfig(c.env);
  const name = c.req.param("endpoint") ?? config.defaultEndpoint;
  const endpoint = ENDPOINT_NAME.test(name) ? await resolveEndpoint(c.env.DB, config.endpoints, name) : null;
  const key = await authenticateApiKey(endpoint, c.req.header("api-key"), new Date());
  if (!key.ok) return refuseUnauthenticated(c, { requested: name, endpoint: endpoint ? name : null, reason: key.reason, msisdn: null, latencyMs: 0 });
  await next();
});

offlineApi.post(
  "/api/offline/totp/:endpoint?",
  requireKey,
  zValidator("json", TotpBody, (r, c) => (r.success ? undefined : badRequest(c, "invalid_parameter"))),
  async (c) => {
    const { msisdn, code } = c.req.valid("json");
    return c.json({ valid: await c.env.SUBSCRIBER.getByName(msisdn).verifyTotp(code) });
  },
);

offlineApi.post(
  "/api/offline/challenge-response/:endpoint?",
  requireKey,
  zValidator("json", CrBody, (r, c) => (r.success ? undefined : badRequest(c, "invalid_parameter"))),
  async (c) => {
    const { msisdn, challenge, code } = c.req.valid("json");
    return c.json({ valid: await c.env.SUBSCRIBER.getByName(msisdn).verifyChallengeResponse(challenge, code) });
  },
);
