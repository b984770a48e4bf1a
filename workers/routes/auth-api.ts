import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { loadConfig } from "../config/load";
import { authenticate } from "../domain/authenticate";
import { authenticateApiKey } from "../lib/api-keys";
import { AuthQuerySchema } from "../lib/auth-params";
import { maskMsisdn } from "../lib/msisdn";
import { badRequest } from "./respond";

/** GET /api/sfwa/auth[/{endpointName}]: the blocking Mideye Magic Link call. */
export const authApi = new Hono<{ Bindings: Env }>();

const validateQuery = zValidator("query", AuthQuerySchema, (result, c) => {
  if (result.success) return;
  const msisdnIssue = result.error.issues.some((i) => i.path[0] === "msisdn");
  return badRequest(c, msisdnIssue ? "invalid_msisdn" : "invalid_parameter");
});

authApi.get("/api/sfwa/auth/:endpoint?", validateQuery, async (c) => {
  const started = Date.now();
  const config = loadConfig(c.env);
  const key = await authenticateApiKey(config, c.req.param("endpoint"), c.req.header("api-key"), new Date());
  const q = c.req.valid("query");
  const log = (result: string, extra: Record<string, unknown> = {}) =>
    console.log(
      JSON.stringify({
        event: "auth",
        endpoint: key.ok ? key.endpoint.name : (c.req.param("endpoint") ?? config.defaultEndpoint),
        msisdn: maskMsisdn(q.msisdn),
        result,
        latencyMs: Date.now() - started,
        ...extra,
      }),
    );
  if (!key.ok) {
    log("BAD_REQUEST", { reason: key.reason });
    return badRequest(c, key.reason);
  }
  const origin = c.env.PUBLIC_BASE_URL?.replace(/\/$/, "") || new URL(c.req.url).origin;
  const outcome = await authenticate(c.env, config, key.endpoint, q, origin);
  if (outcome.code === "BAD_REQUEST") {
    log("BAD_REQUEST", { reason: outcome.reason });
    return badRequest(c, outcome.reason, outcome.retryAfterMs);
  }
  log(outcome.code, { channel: outcome.channel, session: outcome.sessionId.slice(0, 12) });
  return c.json({ code: outcome.code });
});
