import { z } from "zod";
import { AuthQuerySchema } from "./magic-link.ts";

/**
 * The async Magic Link API (/api/v2): start an authentication, get an id at once, then poll
 * it (long-poll) or receive the result at the endpoint's webhook. The shape of OpenID CIBA's
 * poll and ping modes; the result codes are the blocking call's.
 *
 * Schemas carry `.meta({ id })` (zod's registry), which @hono/zod-openapi turns into named
 * components: core imports only zod, not the OpenAPI extension.
 */

export const ASYNC_API_BASE = "/api/v2";

/** Longest long-poll: under the 60 s idle cut of common proxies and serverless platforms. */
export const MAX_WAIT_SECONDS = 30;

/** How long a finished result stays readable (GET) after it is known; then it is purged. */
export const RESULT_RETENTION_SECONDS = 600;

/** An async id: 256 random bits, base64url (core/tokens randomToken). */
export const ASYNC_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * JSON clients send numbers as numbers: touch-timeout and match-number are accepted as either
 * and checked by the blocking call's own rules (AuthQuerySchema), defined once there.
 */
const numberAsString = (v: unknown) => (typeof v === "number" && Number.isInteger(v) ? String(v) : v);

export const AsyncAuthRequestSchema = z
  .preprocess(
    (body) =>
      body && typeof body === "object" && !Array.isArray(body)
        ? {
            ...body,
            "touch-timeout": numberAsString((body as Record<string, unknown>)["touch-timeout"]),
            "match-number": numberAsString((body as Record<string, unknown>)["match-number"]),
          }
        : body,
    AuthQuerySchema,
  )
  .meta({
    id: "AsyncAuthRequest",
    description:
      "The parameters of GET /api/sfwa/auth as a JSON object: msisdn (required), sms-text, touch-timeout (15-300 s), " +
      "authentication-text, touch-accept-text, touch-reject-text, button-accept-text, button-reject-text, title-text, match-number.",
  });
export type AsyncAuthRequest = z.output<typeof AsyncAuthRequestSchema>;

export const AsyncIdSchema = z.string().regex(ASYNC_ID_PATTERN).meta({ id: "AsyncAuthId", description: "256 random bits, base64url" });

export const AsyncAuthStartedSchema = z
  .object({
    id: AsyncIdSchema,
    status: z.literal("pending"),
    /** Path to poll, relative to the origin. */
    poll: z.string(),
    /** When the user's time to answer ends (ms since the epoch); the result is known by then. */
    expiresAt: z.number().int(),
  })
  .meta({ id: "AsyncAuthStarted" });
export type AsyncAuthStarted = z.infer<typeof AsyncAuthStartedSchema>;

export const AsyncWaitQuerySchema = z.object({
  wait: z
    .string()
    .regex(/^\d{1,2}$/, `wait must be whole seconds, 0-${MAX_WAIT_SECONDS}`)
    .transform(Number)
    .pipe(z.number().max(MAX_WAIT_SECONDS))
    .optional(),
});

/** The codes a finished authentication reports (the blocking call's, in the endpoint's response style). */
export const AsyncAuthStatusSchema = z
  .discriminatedUnion("status", [
    z.object({ id: AsyncIdSchema, status: z.literal("pending") }),
    z.object({
      id: AsyncIdSchema,
      status: z.literal("finished"),
      /** TOUCH_ACCEPTED, TOUCH_REJECTED, USER_NOT_RESPONDED, FAILED_DELIVERY, NO_APPROVER_SELECTED, INVALID_APPROVER (or the cloud style's). */
      code: z.string(),
    }),
  ])
  .meta({ id: "AsyncAuthStatus" });
export type AsyncAuthStatus = z.infer<typeof AsyncAuthStatusSchema>;

export const AsyncBadRequestSchema = z.object({ code: z.literal("BAD_REQUEST") }).meta({ id: "AsyncBadRequest" });
export const AsyncNotFoundSchema = z.object({ error: z.literal("not_found") }).meta({ id: "AsyncNotFound" });

/** The webhook's JSON body (Standard Webhooks' type/timestamp/data envelope). */
export const AsyncWebhookPayloadSchema = z
  .object({
    type: z.literal("auth.finished"),
    /** ISO 8601, when the result was known. */
    timestamp: z.string(),
    data: z.object({ id: AsyncIdSchema, endpoint: z.string(), code: z.string() }),
  })
  .meta({ id: "AsyncWebhookPayload" });
export type AsyncWebhookPayload = z.infer<typeof AsyncWebhookPayloadSchema>;
