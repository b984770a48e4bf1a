import { z } from "zod";

/** Where the admin API lives: workers/routes/admin-api.ts serves it, cli/admin.ts calls it. */
export const ADMIN_API_BASE = "/admin/v1";

/*
 * The admin API's answers (its request schemas stay with the route: they use the edge's config
 * rules). Times are ISO 8601 where named `…At`/`at`, epoch milliseconds where named `…_at`
 * (the D1 rows as stored).
 */
const IsoTime = z.iso.datetime();
const IsoTimeOrNull = IsoTime.nullable();

/** An operator-managed endpoint as stored: its settings are workers/config/schema.ts EndpointSettingsSchema. */
export const endpointRowSchema = <S extends z.ZodType>(settings: S) =>
  z.object({ name: z.string(), settings, created_at: z.number().int(), updated_at: z.number().int() });

export const TOKEN_STATUSES = ["active", "revoked", "expired"] as const;
/** An API token (never its secret, which only its creation and regeneration answer). */
export const ApiTokenSchema = z
  .object({
    id: z.string(),
    endpoint: z.string(),
    name: z.string(),
    /** Last valid day (UTC), inclusive; null: no expiry. */
    expires: z.iso.date().nullable(),
    created_at: z.number().int(),
    revoked_at: z.number().int().nullable(),
    status: z.enum(TOKEN_STATUSES),
  })
  .meta({ id: "ApiToken" });
export const ApiTokenListSchema = z.object({ tokens: z.array(ApiTokenSchema) });
/** A new token: its secret, the API key, is shown this once. */
export const CreatedApiTokenSchema = z.object({
  id: z.string(),
  endpoint: z.string(),
  name: z.string(),
  expires: z.iso.date().nullable(),
  secret: z.string(),
});
export const RegeneratedApiTokenSchema = z.object({ id: z.string(), endpoint: z.string(), secret: z.string() });

const LockSchema = z.object({ failures: z.number().int(), lockedUntil: IsoTimeOrNull });
export const SubscriberSchema = z
  .object({
    msisdn: z.string(),
    /** An on-prem TOTP token is enrolled. */
    totp: z.boolean(),
    locks: z.object({ offline: LockSchema, smsOtp: LockSchema }),
    devices: z.array(
      z.object({ id: z.string(), name: z.string(), push: z.boolean(), userVerification: z.boolean(), activatedAt: IsoTime }),
    ),
  })
  .meta({ id: "Subscriber" });
export const LOCK_KIND_NAMES = ["offline", "sms-otp"] as const;
export const LocksClearedSchema = z.object({ msisdn: z.string(), cleared: z.array(z.enum(LOCK_KIND_NAMES)) });
/** The enrolled token's seed (Base32) and otpauth:// URI, shown this once. */
export const TotpEnrolledSchema = z.object({ msisdn: z.string(), secret: z.string(), uri: z.string() });

export const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    at: IsoTime,
    kind: z.string(),
    endpoint: z.string().nullable(),
    /** Masked (+4670*****67), never the whole number. */
    msisdn: z.string().nullable(),
    channel: z.string().nullable(),
    result: z.string().nullable(),
    latency_ms: z.number().nullable(),
    actor: z.string().nullable(),
    action: z.string().nullable(),
    detail: z.unknown(),
    /** Counter rows of unauthenticated failures: how many calls the row stands for. */
    count: z.number().int().nullable(),
  })
  .meta({ id: "AuditEntry" });
/** Newest first; `next`: pass it as `before` for the next page (null: no more). */
export const AuditPageSchema = z.object({ entries: z.array(AuditEntrySchema), next: z.number().int().nullable() });

export const RelayPinSchema = z
  .object({
    endpoint: z.string(),
    username: z.string(),
    msisdn: z.string(),
    pinnedAt: IsoTimeOrNull,
    /** A number the directory reported instead, waiting for confirmation. */
    pending: z.object({ msisdn: z.string(), since: IsoTimeOrNull }).nullable(),
    noticeSentAt: IsoTimeOrNull,
  })
  .meta({ id: "RelayPin" });
export const RelayPinListSchema = z.object({ pins: z.array(RelayPinSchema) });
