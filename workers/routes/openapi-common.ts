import { z } from "zod";
import { BadRequestSchema } from "../../core/contracts/magic-link";
import { ErrorSchema, InvalidRequestSchema } from "../../core/contracts/api-errors";
import { jsonResponse } from "./openapi-route";

/** The security schemes of the document (registered on the root app, workers/routes/openapi-doc.ts). */
export const SECURITY_SCHEMES = {
  apiKey: {
    type: "apiKey",
    in: "header",
    name: "api-key",
    description:
      "An endpoint's API key (Magic Link and offline APIs), as in Mideye's API. Create one with the admin API or `npm run admin -- tokens create`.",
  },
  adminToken: {
    type: "http",
    scheme: "bearer",
    description: "A named admin token (its SHA-256 is configured in ADMIN_TOKENS, docs/operations.md#admin-credentials).",
  },
  relayToken: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A relay token: an ES256 JWT signed by the relay's own key (`kid`: the relay's name; the edge holds its public key). " +
      "It lives 60 s, names this edge (`aud`: its public origin), is bound to the method, the full path and the SHA-256 " +
      "of the body, and is accepted once (`jti`). Minted by core/contracts/relay-token.ts.",
  },
} as const;

export const API_KEY_SECURITY = [{ apiKey: [] }];
export const ADMIN_SECURITY = [{ adminToken: [] }];
export const RELAY_SECURITY = [{ relayToken: [] }];

/** The optional endpoint name in the Magic Link and offline paths (absent: the default endpoint). */
export const EndpointParam = z.object({
  endpoint: z.string().meta({ description: "The endpoint's name (without it: the configured default endpoint)", example: "webshop" }),
});

const ReasonHeader = z.string().meta({
  description:
    'Why (the body stays exactly {"code":"BAD_REQUEST"}): missing_api_key, invalid_api_key (also for an unknown endpoint), ' +
    "expired_api_key, invalid_msisdn, invalid_parameter, rate_limited, too_many_pending, endpoint_overloaded, overloaded, offline_codes_disabled.",
});
const RetryAfterHeader = z.string().regex(/^\d+$/).meta({ description: "Seconds to wait, when known." });
const badRequestResponse = (description: string, retry: boolean) => ({
  ...jsonResponse(BadRequestSchema, description),
  headers: retry
    ? z.object({ "X-MFA-Reason": ReasonHeader, "Retry-After": RetryAfterHeader.optional() })
    : z.object({ "X-MFA-Reason": ReasonHeader }),
});

/** Mideye's BAD_REQUEST, by status (core/codes.ts BAD_REQUEST_STATUS), as the Magic Link API answers it. */
export const mideyeBadRequestResponses = {
  400: badRequestResponse("BAD_REQUEST: a bad parameter, or a missing, wrong or expired API key (see X-MFA-Reason).", false),
  429: badRequestResponse(
    "BAD_REQUEST: rate_limited (the number's calls, or this client address's failed ones), too_many_pending, endpoint_overloaded.",
    true,
  ),
  503: badRequestResponse("BAD_REQUEST: overloaded (the service's cap on pending sessions).", true),
};
/**
 * A body that is not JSON at all is refused before any schema sees it, by hono's validator:
 * 400 with a plain-text message ("Malformed JSON in request body").
 */
const MalformedJson = { "text/plain": { schema: z.string().meta({ example: "Malformed JSON in request body" }) } };
const withMalformedJson = <R extends { description: string; content: Record<string, unknown> }>(response: R) => ({
  ...response,
  description: `${response.description} Or text/plain: the body is not JSON.`,
  content: { ...response.content, ...MalformedJson },
});

/** The offline API's also: an endpoint that did not opt in to offline codes, and a body that is not JSON. */
export const offlineBadRequestResponses = {
  ...mideyeBadRequestResponses,
  // Not JSON at all: hono's plain-text refusal, without X-MFA-Reason.
  400: { ...withMalformedJson(mideyeBadRequestResponses[400]), headers: z.object({ "X-MFA-Reason": ReasonHeader.optional() }) },
  403: badRequestResponse("BAD_REQUEST: offline_codes_disabled (the endpoint did not opt in).", false),
};

/** 400 of the admin and relay APIs. */
export const invalidRequestResponse = jsonResponse(InvalidRequestSchema, "The request does not fit: the issues, field by field.");
/** The same for a route with a JSON body, which may also not be JSON at all. */
export const invalidBodyResponse = withMalformedJson(invalidRequestResponse);
/** A refusal with a message for people. */
export const errorResponse = (description: string) => jsonResponse(ErrorSchema, description);
/** 413 of every route with a body: bodies are capped before anything parses them (workers/app.ts bodyCap). */
export const bodyTooLargeResponse = errorResponse("The body is over 64 KB.");
