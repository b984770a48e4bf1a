import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { z } from "zod";
import type { Context, TypedResponse } from "hono";
import { loadConfig } from "../config/load";
import { authenticate } from "../domain/authenticate";
import { authenticateKeyedCall } from "../domain/endpoint-keys";
import { styledCode } from "../../core/codes";
import { AuthQuerySchema, MagicLinkAnswerSchema } from "../../core/contracts/magic-link";
import { maskMsisdn } from "../../core/msisdn";
import { type MideyeBadRequest, badRequest, publicBaseUrl, recordAuth, refuseUnauthenticated } from "./respond";
import { magicLinkBadRequest } from "./validate";
import { jsonResponse, serve } from "./openapi-route";
import { API_KEY_SECURITY, EndpointParam, mideyeBadRequestResponses } from "./openapi-common";

/** GET /api/sfwa/auth[/{endpointName}]: the blocking Mideye Magic Link call (mounted at /api/sfwa). */
type AuthEnv = { Bindings: Env };
export const authApi = new OpenAPIHono<AuthEnv>();

const responses = {
  200: jsonResponse(MagicLinkAnswerSchema, "The session ended: the user's answer, a timeout, or a failed delivery."),
  ...mideyeBadRequestResponses,
};
const doc = {
  method: "get" as const,
  tags: ["Magic Link"],
  summary: "Authenticate a phone number (blocks until the user answers or the timeout passes)",
  description:
    "Mideye's Magic Link API: pushes to the number's authenticator app or sends an SMS with a link, " +
    "and answers when the user accepts or rejects, or the endpoint's timeout (15-300 s) passes. " +
    "Give the HTTP client a timeout longer than that.",
  security: API_KEY_SECURITY,
  responses,
};

// One handler, two paths: the default endpoint's and a named one's (OpenAPI has no optional path parameters).
const defaultEndpoint = createRoute({ ...doc, path: "/auth", request: { query: AuthQuerySchema } });
const namedEndpoint = createRoute({ ...doc, path: "/auth/{endpoint}", request: { params: EndpointParam, query: AuthQuerySchema } });

/**
 * The Magic Link API never answers 403: that status is offline_codes_disabled, the offline API's
 * reason alone. Its refusals are typed without it (the conformance test checks the real ones).
 */
const asMagicLinkRefusal = (r: MideyeBadRequest) => r as Response & TypedResponse<{ code: "BAD_REQUEST" }, 400 | 429 | 503, "json">;

async function magicLink(c: Context<AuthEnv>, q: z.output<typeof AuthQuerySchema>) {
  const started = Date.now();
  const config = loadConfig(c.env);
  const endpointName = c.req.param("endpoint") ?? config.defaultEndpoint;
  const call = await authenticateKeyedCall(c.env, config, endpointName, c.req.header("api-key"));
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
    return asMagicLinkRefusal(
      await refuseUnauthenticated(c, {
        requested: endpointName,
        endpoint: call.endpoint ? endpointName : null,
        reason: call.reason,
        msisdn: maskMsisdn(q.msisdn),
        latencyMs: Date.now() - started,
      }),
    );
  }
  const outcome = await authenticate(c.env, config, call.endpoint, q, publicBaseUrl(c), {
    background: (work) => c.executionCtx.waitUntil(work),
  });
  if (outcome.code === "BAD_REQUEST") {
    record("BAD_REQUEST", { reason: outcome.reason });
    return asMagicLinkRefusal(badRequest(c, outcome.reason, outcome.retryAfterMs));
  }
  const device = outcome.device ? { device: outcome.device } : {};
  record(outcome.code, { key: call.keyName, session: outcome.sessionId.slice(0, 12), ...device }, outcome.channel);
  return c.json({ code: styledCode(outcome.code, call.endpoint.responseStyle) }, 200);
}

serve(authApi, defaultEndpoint, magicLinkBadRequest, (c) => magicLink(c, c.req.valid("query")));
serve(authApi, namedEndpoint, magicLinkBadRequest, (c) => magicLink(c, c.req.valid("query")));
