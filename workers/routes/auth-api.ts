import { Hono } from "hono";
import { loadConfig } from "../config/load";
import { authenticate } from "../domain/authenticate";
import { authenticateKeyedCall } from "../domain/endpoint-keys";
import { styledCode } from "../../core/codes";
import { AuthQuerySchema } from "../../core/contracts/magic-link";
import { maskMsisdn } from "../../core/msisdn";
import { badRequest, publicBaseUrl, recordAuth, refuseUnauthenticated } from "./respond";
import { magicLinkBadRequest, validate } from "./validate";

/** GET /api/sfwa/auth[/{endpointName}]: the blocking Mideye Magic Link call (mounted at /api/sfwa). */
export const authApi = new Hono<{ Bindings: Env }>();

authApi.get("/auth/:endpoint?", validate("query", AuthQuerySchema, magicLinkBadRequest), async (c) => {
  const started = Date.now();
  const config = loadConfig(c.env);
  const endpointName = c.req.param("endpoint") ?? config.defaultEndpoint;
  const call = await authenticateKeyedCall(c.env, config, endpointName, c.req.header("api-key"));
  const q = c.req.valid("query");
  // One JSON log line and one audit row per call with a valid key, written after the
  // response is sent (refused calls are counted instead, see refuseUnauthenticated).
  const record = (result: string, detail: Record<string, unknown>, channel = "none") =>
    recordAuth(c, "auth", {
      endpoint: endpointName,
      msisdn: maskMsisdn(q.msisdn),
      channel,
      result,
      latencyMs: Date.now() - started,
      detail,
    });
  if (!call.ok) {
    return refuseUnauthenticated(c, {
      requested: endpointName,
      endpoint: call.endpoint ? endpointName : null,
      reason: call.reason,
      msisdn: maskMsisdn(q.msisdn),
      latencyMs: Date.now() - started,
    });
  }
  const outcome = await authenticate(c.env, config, call.endpoint, q, publicBaseUrl(c));
  if (outcome.code === "BAD_REQUEST") {
    record("BAD_REQUEST", { reason: outcome.reason });
    return badRequest(c, outcome.reason, outcome.retryAfterMs);
  }
  const device = outcome.device ? { device: outcome.device } : {};
  record(outcome.code, { key: call.keyName, session: outcome.sessionId.slice(0, 12), ...device }, outcome.channel);
  return c.json({ code: styledCode(outcome.code, call.endpoint.responseStyle) });
});
