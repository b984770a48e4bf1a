import { z } from "zod";
import { E164 } from "../../core/contracts/relay";

/** Operator configuration (env MFA_CONFIG, JSON). Validated once per isolate. */
export const RateLimitSchema = z.object({
  perMinute: z.number().int().min(1),
  perHour: z.number().int().min(1),
});

export const TextsSchema = z.object({
  sms: z.string().max(300),
  title: z.string().max(100),
  authentication: z.string().max(500),
  touchAccept: z.string().max(500),
  touchReject: z.string().max(500),
  buttonAccept: z.string().max(40),
  buttonReject: z.string().max(40),
});
export type Texts = z.infer<typeof TextsSchema>;

export const ApiKeySchema = z.object({
  name: z.string().min(1),
  /** Hex SHA-256 of the key; the key itself is never stored. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Last valid day (UTC), inclusive. */
  expires: z.iso.date().optional(),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const ENDPOINT_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** Approvers an Assisted Login endpoint offers the user after they accept. */
export const AssistedLoginSchema = z.object({
  approvers: z.array(z.object({ name: z.string().min(1).max(100), msisdn: z.string().regex(E164) })).min(1),
});

/** Everything about an endpoint except its name and keys (also the JSON stored in D1). */
export const EndpointSettingsSchema = z.object({
  timeoutSeconds: z.number().int().min(15).max(300).default(30),
  rateLimit: RateLimitSchema.optional(),
  texts: TextsSchema.partial().default({}),
  /** "server": TOUCH_ACCEPTED/TOUCH_REJECTED/USER_NOT_RESPONDED (Mideye Server); "cloud": ACCEPT/REJECT/TIMEOUT. */
  responseStyle: z.enum(["server", "cloud"]).default("server"),
  assistedLogin: AssistedLoginSchema.optional(),
  /** The SMS link page offers to activate the authenticator app for this number. */
  enableActivation: z.boolean().default(false),
  /** Numbers with an activated app get a push instead of the SMS link. */
  usePush: z.boolean().default(true),
  /** No answer to a push within this many seconds: the SMS link is sent as well. */
  pushGraceSeconds: z.number().int().min(1).max(120).default(10),
  /** The app only counts an Accept after the user picked the number shown on the login side. */
  numberMatching: z.boolean().default(false),
  /**
   * Its API keys may use /api/offline/* (check, and so lock, any number's offline codes):
   * only for endpoints that serve that purpose, such as a RADIUS server of your own.
   */
  offlineCodes: z.boolean().default(false),
  /**
   * RADIUS relays of this endpoint: when the directory reports another number than the one
   * pinned for a user, "confirm" (default) refuses until an operator confirms it;
   * "accept-after-notice" applies it once it has been reported for numberChangeNoticeHours
   * (the pinned number is told at once and can have the help desk stop it).
   */
  numberChange: z.enum(["confirm", "accept-after-notice"]).default("confirm"),
  numberChangeNoticeHours: z.number().int().min(1).max(720).default(72),
});
export type EndpointSettings = z.infer<typeof EndpointSettingsSchema>;

export const EndpointSchema = EndpointSettingsSchema.extend({
  name: z.string().regex(ENDPOINT_NAME),
  apiKeys: z.array(ApiKeySchema).default([]),
});
export type Endpoint = z.infer<typeof EndpointSchema>;

/** An on-prem RADIUS relay allowed to call /api/relay/v1: it signs ES256 JWTs with its key. */
export const RelaySchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  /** The relay's public key (EC P-256 JWK), printed by `npm run relay -- keygen`. */
  publicJwk: z.object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: z.string(), y: z.string() }).loose(),
  /** Endpoint whose texts, timeout and rate limits apply to this relay's requests. */
  endpoint: z.string(),
  /**
   * The relays that stand in for each other (two behind one NAS): they share challenge State
   * and any of them answers the edge's questions over the relay link. Default: the endpoint.
   */
  site: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .optional(),
});
export type Relay = z.infer<typeof RelaySchema>;

/** The site a relay belongs to (see RelaySchema.site). */
export function relaySite(relay: Pick<Relay, "site" | "endpoint">): string {
  return relay.site ?? relay.endpoint;
}

export const ConfigSchema = z.object({
  /** Endpoint used by GET /api/sfwa/auth (no endpoint name in the path). */
  defaultEndpoint: z.string().default("default"),
  endpoints: z.array(EndpointSchema).default([]),
  relays: z.array(RelaySchema).default([]),
  rateLimit: RateLimitSchema.default({ perMinute: 5, perHour: 30 }),
  overload: z
    .object({
      /** Max concurrent pending sessions across all endpoints (approximate, see README). */
      maxPending: z.number().int().min(1).default(10_000),
      /** Number of shard objects the pending-session leases are spread over. */
      shards: z.number().int().min(1).max(1024).default(32),
    })
    .default({ maxPending: 10_000, shards: 32 }),
  /**
   * Keep a finished session's tombstone this long so its link says "already used". At least
   * 60 s, so an API call re-attaching after an object restart always finds the outcome.
   */
  tombstoneSeconds: z.number().int().min(60).default(600),
  /** Pending sessions one number may have at once (MFA-fatigue and SMS-bombing defence). */
  maxPendingPerMsisdn: z.number().int().min(1).max(100).default(3),
  /**
   * A new authenticator app for a number that already has one takes over only after this long,
   * during which the current app is notified and can refuse (one minute to a week).
   */
  deviceReplacementGraceSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(86_400),
  /**
   * Failed Magic Link / offline API calls one client address (IPv6: /64) may make before it
   * gets BAD_REQUEST 429 rate_limited: key guessing and audit flooding.
   */
  ipFailureLimit: RateLimitSchema.default({ perMinute: 10, perHour: 100 }),
  /**
   * Activation started in the app (enter the number, get the activation SMS). Off unless set,
   * since anyone may ask it to send an SMS. `endpoint`: whose title starts the SMS and whose
   * per-number rate limit each request counts against, like a sign-in; `ipLimit`: requests one
   * client address (IPv6: /64) may make.
   */
  appActivation: z
    .object({
      endpoint: z.string().regex(ENDPOINT_NAME),
      ipLimit: RateLimitSchema.default({ perMinute: 3, perHour: 10 }),
    })
    .optional(),
});
export type Config = z.infer<typeof ConfigSchema>;

export const DEFAULT_TEXTS: Texts = {
  sms: "Approve your sign-in:",
  title: "Sign-in request",
  authentication: "Someone is signing in with your phone number. Was it you?",
  touchAccept: "Sign-in approved. You can close this page.",
  touchReject: "Sign-in rejected. You can close this page.",
  buttonAccept: "Accept",
  buttonReject: "Reject",
};
