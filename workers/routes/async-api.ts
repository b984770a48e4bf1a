import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { API_KEY_SECURITY } from "./openapi-common";
import type { Context, TypedResponse } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { styledCode } from "../../core/codes";
import {
  ASYNC_API_BASE,
  ASYNC_ID_PATTERN,
  AsyncAuthRequestSchema,
  AsyncAuthStartedSchema,
  AsyncAuthStatusSchema,
  AsyncBadRequestSchema,
  AsyncNotFoundSchema,
  AsyncWaitQuerySchema,
  MAX_WAIT_SECONDS,
} from "../../core/contracts/async-auth";
import { maskMsisdn } from "../../core/msisdn";
import { loadConfig } from "../config/load";
import { readAsyncAuth, startAsyncAuth } from "../domain/async-auth";
import { authenticateKeyedCall } from "../domain/endpoint-keys";
import { refuseUnauthenticatedCall } from "../domain/unauthenticated-calls";
import { clientIp } from "../lib/client-ip";
import { badRequest, publicBaseUrl, recordAuth, refuseUnauthenticated } from "./respond";
import { magicLinkBadRequest } from "./validate";

type AsyncEnv = { Bindings: Env };

/**
 * /api/v2 (mounted at ASYNC_API_BASE): the async Magic Link API. POST starts an authentication
 * and answers 202 at once; GET reads it, long-polling; the endpoint's webhook gets the result.
 * Refusals answer as the blocking call's do ({"code":"BAD_REQUEST"}, status by reason,
 * X-MFA-Reason). See docs/api.md "Async API".
 */
export const asyncApi = new OpenAPIHono<AsyncEnv>({
  // Bad input is refused like the blocking call's: counted per client address, BAD_REQUEST.
  defaultHook: (result, c) => (result.success ? undefined : magicLinkBadRequest(c, result.error, result.target)),
});

// A body that is not JSON at all fails before the schema: the same BAD_REQUEST (invalid_parameter).
asyncApi.onError((err, c) => {
  if (err instanceof HTTPException && err.status === 400) {
    return refuseUnauthenticated(c, {
      requested: c.req.param("endpointOrId") ?? "",
      endpoint: null,
      reason: "invalid_parameter",
      msisdn: null,
      latencyMs: 0,
    });
  }
  throw err;
});

const ApiKeyHeader = z.object({ "api-key": z.string().optional().meta({ description: "An API key of the endpoint" }) });
const refusals = {
  400: {
    description: "BAD_REQUEST: bad parameters, missing/invalid/expired key or unknown endpoint (X-MFA-Reason says which)",
    content: { "application/json": { schema: AsyncBadRequestSchema } },
  },
  429: {
    description: "BAD_REQUEST: rate limited, too many pending for the number, or the endpoint's share is full (Retry-After)",
    content: { "application/json": { schema: AsyncBadRequestSchema } },
  },
  503: { description: "BAD_REQUEST: the service is overloaded", content: { "application/json": { schema: AsyncBadRequestSchema } } },
} as const;

const startResponses = {
  202: {
    description: "Started: poll the id, or wait for the webhook",
    content: { "application/json": { schema: AsyncAuthStartedSchema } },
  },
  ...refusals,
} as const;
const startBody = { required: true, content: { "application/json": { schema: AsyncAuthRequestSchema } } };

const startDefault = createRoute({
  method: "post",
  path: "/auth",
  summary: "Start an authentication on the default endpoint (async)",
  tags: ["Async"],
  security: API_KEY_SECURITY,
  request: { headers: ApiKeyHeader, body: startBody },
  responses: startResponses,
});
// POST's endpoint name and GET's id share one path template: OpenAPI 3.1 forbids two templates
// that differ only in a parameter's name.
const startNamed = createRoute({
  method: "post",
  path: "/auth/{endpointOrId}",
  summary: "Start an authentication on an endpoint (async)",
  tags: ["Async"],
  security: API_KEY_SECURITY,
  request: {
    headers: ApiKeyHeader,
    params: z.object({ endpointOrId: z.string().meta({ description: "The endpoint's name" }) }),
    body: startBody,
  },
  responses: startResponses,
});
const readRoute = createRoute({
  method: "get",
  path: "/auth/{endpointOrId}",
  summary: `Read an async authentication, waiting up to ?wait= seconds (max ${MAX_WAIT_SECONDS}) for its result`,
  tags: ["Async"],
  security: API_KEY_SECURITY,
  request: {
    headers: ApiKeyHeader,
    params: z.object({ endpointOrId: z.string().meta({ description: "The async id from the 202" }) }),
    query: AsyncWaitQuerySchema,
  },
  responses: {
    200: {
      description: "pending, or finished with the blocking call's code",
      content: { "application/json": { schema: AsyncAuthStatusSchema } },
    },
    404: {
      description: "No such authentication for this key: unknown or purged id, no key, or another endpoint's key (all alike)",
      content: { "application/json": { schema: AsyncNotFoundSchema } },
    },
    400: refusals[400],
    429: {
      description: "BAD_REQUEST: too many failed reads from this client address",
      content: { "application/json": { schema: AsyncBadRequestSchema } },
    },
  },
});

/**
 * respond.ts builds the BAD_REQUEST answers exactly as the blocking call gives them (status by
 * reason, X-MFA-Reason, Retry-After); their body is AsyncBadRequestSchema, declared above.
 */
const declaredRefusal = async <S extends 400 | 429 | 503 = 400 | 429 | 503>(res: Response | Promise<Response>) =>
  (await res) as unknown as TypedResponse<{ code: "BAD_REQUEST" }, S, "json">;

async function start(c: Context<AsyncEnv>, endpointParam: string | undefined, body: z.output<typeof AsyncAuthRequestSchema>) {
  const started = Date.now();
  const config = loadConfig(c.env);
  const endpointName = endpointParam ?? config.defaultEndpoint;
  const call = await authenticateKeyedCall(c.env, config, endpointName, c.req.header("api-key"));
  if (!call.ok) {
    return declaredRefusal(
      refuseUnauthenticated(c, {
        requested: endpointName,
        endpoint: call.endpoint ? endpointName : null,
        reason: call.reason,
        msisdn: maskMsisdn(body.msisdn),
        latencyMs: Date.now() - started,
      }),
    );
  }
  const outcome = await startAsyncAuth(c.env, config, call, body, publicBaseUrl(c));
  if (outcome.kind === "refused") {
    // The accepted ones get their row with the result, from their AsyncAuth object.
    recordAuth(c, "auth", {
      endpoint: endpointName,
      msisdn: maskMsisdn(body.msisdn),
      channel: "none",
      result: "BAD_REQUEST",
      latencyMs: Date.now() - started,
      detail: { api: "async", reason: outcome.reason },
    });
    return declaredRefusal(badRequest(c, outcome.reason, outcome.retryAfterMs));
  }
  const poll = `${ASYNC_API_BASE}/auth/${outcome.id}`;
  c.header("location", poll);
  return c.json({ id: outcome.id, status: "pending" as const, poll, expiresAt: outcome.deadline }, 202);
}

asyncApi.openapi(startDefault, (c) => start(c, undefined, c.req.valid("json")));
asyncApi.openapi(startNamed, (c) => start(c, c.req.valid("param").endpointOrId, c.req.valid("json")));

asyncApi.openapi(readRoute, async (c) => {
  const id = c.req.valid("param").endpointOrId;
  const waitMs = (c.req.valid("query").wait ?? 0) * 1000;
  const config = loadConfig(c.env);
  const apiKey = c.req.header("api-key");
  const read = ASYNC_ID_PATTERN.test(id) ? await readAsyncAuth(c.env, config, id, apiKey, waitMs) : ({ kind: "not_found" } as const);
  if (read.kind === "not_found") {
    // Counted like a refused call: a client address that keeps guessing is slowed down.
    const refusal = await refuseUnauthenticatedCall(c.env, (p) => c.executionCtx.waitUntil(p), clientIp(c.req.raw.headers), {
      requested: "(async read)",
      endpoint: null,
      reason: apiKey ? "invalid_api_key" : "missing_api_key",
      msisdn: null,
      latencyMs: 0,
    });
    if (refusal.reason === "rate_limited") return declaredRefusal<429>(badRequest(c, refusal.reason, refusal.retryAfterMs));
    return c.json({ error: "not_found" as const }, 404);
  }
  if (read.kind === "pending") return c.json({ id, status: "pending" as const }, 200);
  return c.json({ id, status: "finished" as const, code: styledCode(read.code, read.endpoint.responseStyle) }, 200);
});
