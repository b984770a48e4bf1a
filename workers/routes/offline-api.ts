import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import type { OfflineCheck } from "../objects/subscriber/contract";
import { loadConfig } from "../config/load";
import { ENDPOINT_NAME, type Endpoint } from "../config/schema";
import { offlineAuditRows, rejectOnError, REJECTED } from "../domain/offline-check";
import { resolveEndpoint } from "../store/endpoints";
import { authenticateApiKey } from "../lib/api-keys";
import { MsisdnSchema } from "../../core/contracts/magic-link";
import { CHALLENGE_PATTERN } from "../../core/otp";
import { log } from "../lib/log";
import { badRequest, recordAuth, refuseUnauthenticated } from "./respond";

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
  const endpoint = ENDPOINT_NAME.test(name) ? await resolveEndpoint(c.env.DB, config.endpoints, name) : null;
  const key = await authenticateApiKey(endpoint, c.req.header("api-key"), new Date());
  if (!key.ok) return refuseUnauthenticated(c, { requested: name, endpoint: endpoint ? name : null, reason: key.reason, msisdn: null, latencyMs: 0 });
  if (!endpoint!.offlineCodes) {
    log.warn("offline_codes_refused", { endpoint: endpoint!.name });
    return badRequest(c, "offline_codes_disabled");
  }
  c.set("endpoint", endpoint!);
  c.set("started", started);
  await next();
});

/** Log line and audit row per check (and one more when it started a lockout). */
function record(c: Context<OfflineEnv>, channel: string, msisdn: string, check: OfflineCheck) {
  const base = { endpoint: c.get("endpoint").name, msisdn, channel, latencyMs: Date.now() - c.get("started") };
  for (const row of offlineAuditRows(base, check)) recordAuth(c, "offline", row);
}

offlineApi.post(
  "/api/offline/totp/:endpoint?",
  requireKey,
  zValidator("json", TotpBody, (r, c) => (r.success ? undefined : badRequest(c, "invalid_parameter"))),
  async (c) => {
    const { msisdn, code } = c.req.valid("json");
    const check = await rejectOnError("offline-totp", () => c.env.SUBSCRIBER.getByName(msisdn).checkTotp(code), REJECTED);
    record(c, "offline-totp", msisdn, check);
    return c.json({ valid: check.verdict === "accept" });
  },
);

offlineApi.post(
  "/api/offline/challenge-response/:endpoint?",
  requireKey,
  zValidator("json", CrBody, (r, c) => (r.success ? undefined : badRequest(c, "invalid_parameter"))),
  async (c) => {
    const { msisdn, challenge, code } = c.req.valid("json");
    const check = await rejectOnError(
      "offline-challenge-response",
      () => c.env.SUBSCRIBER.getByName(msisdn).checkSignedChallenge(challenge, code),
      REJECTED,
    );
    record(c, "offline-challenge-response", msisdn, check);
    return c.json({ valid: check.verdict === "accept" });
  },
);
