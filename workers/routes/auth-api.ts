import { zValidator } from "@hono/zod-validator";
import { Hono, type Context } from "hono";
import { loadConfig } from "../config/load";
import { authenticate } from "../domain/authenticate";
import { ENDPOINT_NAME } from "../config/schema";
import { authenticateApiKey } from "../lib/api-keys";
import { styledCode } from "../../core/codes";
import { resolveEndpoint } from "../store/endpoints";
import { AuthQuerySchema } from "../../core/contracts/magic-link";
import { maskMsisdn } from "../../core/msisdn";
import { badRequest, recordAuth, refuseUnauthenticated } from "./respond";

/** GET /api/sfwa/auth[/{endpointName}]: the blocking Mideye Magic Link call. */
export const authApi = new Hono<{ Bindings: Env }>();

// Bad parameters are checked before the key, so they count as unauthenticated failures.
const validateQuery = zValidator("query", AuthQuerySchema, async (result, hookContext) => {
  if (result.success) return;
  const c = hookContext as unknown as Context<{ Bindings: Env }>;
  const msisdnIssue = result.error.issues.some((i) => i.path[0] === "msisdn");
  const requested = c.req.param("endpoint") ?? loadConfig(c.env).defaultEndpoint;
  return refuseUnauthenticated(c, {
    requested,
    endpoint: null,
    reason: msisdnIssue ? "invalid_msisdn" : "invalid_parameter",
    msisdn: null,
    latencyMs: 0,
  });
});

authApi.get("/api/sfwa/auth/:endpoint?", validateQuery, async (c) => {
  const started = Date.now();
  const config = loadConfig(c.env);
  const endpointName = c.req.param("endpoint") ?? config.defaultEndpoint;
  const endpoint = ENDPOINT_NAME.test(endpointName) ? await resolveEndpoint(c.env.DB, config.endpoints, endpointName) : null;
  const key = await authenticateApiKey(endpoint, c.req.header("api-key"), new Date());
  const q = c.req.valid("query");
  // One JSON log line and one audit row per call with a valid key, written after the
  // response is sent (refused calls are counted instead, see refuseUnauthenticated).
  const record = (result: string, detail: Record<string, unknown>, channel = "none") =>
    recordAuth(c, "auth", { endpoint: endpointName, msisdn: maskMsisdn(q.msisdn), channel, result, latencyMs: Date.now() - started, detail });
  if (!key.ok) {
    return refuseUnauthenticated(c, {
      requested: endpointName,
      endpoint: endpoint ? endpointName : null,
      reason: key.reason,
      msisdn: maskMsisdn(q.msisdn),
      latencyMs: Date.now() - started,
    });
  }
  const origin = c.env.PUBLIC_BASE_URL?.replace(/\/$/, "") || new URL(c.req.url).origin;
  const outcome = await authenticate(c.env, config, endpoint!, q, origin);
  if (outcome.code === "BAD_REQUEST") {
    record("BAD_REQUEST", { reason: outcome.reason });
    return badRequest(c, outcome.reason, outcome.retryAfterMs);
  }
  record(outcome.code, { key: key.keyName, session: outcome.sessionId.slice(0, 12) }, outcome.channel);
  return c.json({ code: styledCode(outcome.code, endpoint!.responseStyle) });
});
