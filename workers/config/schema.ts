import { z } from "zod";
import { E164 } from "../../core/contracts/relay";
import { UsernameSchema } from "../../core/contracts/relay-api";
import { PasswordPolicySchema } from "../../core/password-policy-schema";
import { isPrivateNetworkHost } from "../../core/private-host";
import { isHttpsOrLoopback, isLoopbackTarget } from "../../core/loopback";

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

/** Where an approver directory lives: https, or plain http to loopback only (the tests' fakes). */
const DirectoryUrlSchema = z
  .url({ protocol: /^https?$/ })
  .refine(isHttpsOrLoopback, "must be an https:// URL (plain http only to localhost / 127.0.0.1 / ::1)")
  .transform((u) => u.replace(/\/+$/, ""));
/** Entra ID's sign-in hosts, per Microsoft cloud (global, US Government, China). */
export const ENTRA_LOGIN_HOSTS = ["login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn"];
/** Microsoft Graph's hosts, per cloud (global, US Government L4 and L5, China). */
export const ENTRA_GRAPH_HOSTS = ["graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"];
/** An https URL on one of `hosts`, or any loopback URL (the fake Graph of tests and dev). */
function isMicrosoftHost(hosts: string[]): (url: string) => boolean {
  return (url) => {
    const u = new URL(url);
    return isLoopbackTarget(u.hostname) || (u.protocol === "https:" && hosts.includes(u.hostname.toLowerCase()));
  };
}
/** How long a directory's approver list is reused at the edge (0: asked on every call). */
const DirectoryCacheSeconds = z.number().int().min(0).max(86_400).default(300);

/**
 * One approver of a local list. `username`: the directory name this person signs in under
 * (compared as normalizeUsername), so they cannot approve their own sign-in or reset when
 * listed under a second number (a desk phone).
 */
export const LocalApproverSchema = z.object({
  name: z.string().min(1).max(100),
  msisdn: z.string().regex(E164),
  username: UsernameSchema.optional(),
});

/** The endpoint's own list (`source` may be left out). */
export const LocalApproversSchema = z.object({
  source: z.literal("local").optional(),
  approvers: z.array(LocalApproverSchema).min(1),
});
/** An LDAP group, resolved by a relay of `site` (default: the endpoint's name) over the relay link. */
export const LdapApproversSchema = z.object({
  source: z.literal("ldap"),
  /** The group's DN; the relay must list it in its link.groups. */
  group: z.string().min(3).max(1024).includes("=", { message: "group must be a DN, e.g. cn=approvers,ou=groups,dc=example,dc=com" }),
  site: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .optional(),
  cacheSeconds: DirectoryCacheSeconds,
});
/** An Entra ID group, read at the edge from Microsoft Graph with an app's client credentials. */
export const EntraApproversSchema = z.object({
  source: z.literal("entra"),
  tenantId: z.string().regex(/^[A-Za-z0-9.-]{1,128}$/, "tenantId must be the tenant's id or domain"),
  clientId: z.string().regex(/^[A-Za-z0-9-]{1,128}$/, "clientId must be the app registration's client id"),
  /**
   * The client secret is a Worker secret; this names it (wrangler secret put NAME), never holds
   * it. Only names starting ENTRA_: the edge sends this secret to `loginBase`, and endpoint
   * settings can be edited in the console, so no other secret (the seed key, VAPID, the SMS
   * provider's) can be named here and sent away.
   */
  clientSecret: z.object({
    secret: z
      .string()
      .regex(/^ENTRA_[A-Z0-9_]{1,58}$/, "clientSecret.secret must name a Worker secret starting ENTRA_, e.g. ENTRA_CLIENT_SECRET"),
  }),
  groupId: z.string().regex(/^[0-9a-fA-F-]{36}$/, "groupId must be the group's object id (a GUID)"),
  /** Microsoft's sign-in and Graph hosts of its clouds only (loopback for tests and dev): where the secret and token go. */
  loginBase: DirectoryUrlSchema.refine(
    isMicrosoftHost(ENTRA_LOGIN_HOSTS),
    `loginBase must be one of ${ENTRA_LOGIN_HOSTS.join(", ")}`,
  ).default("https://login.microsoftonline.com"),
  graphBase: DirectoryUrlSchema.refine(
    isMicrosoftHost(ENTRA_GRAPH_HOSTS),
    `graphBase must be one of ${ENTRA_GRAPH_HOSTS.join(", ")}`,
  ).default("https://graph.microsoft.com"),
  cacheSeconds: DirectoryCacheSeconds,
});
/** Approvers an Assisted Login endpoint offers the user after they accept: a list, an LDAP group or an Entra ID group. */
export const AssistedLoginSchema = z.union([LocalApproversSchema, LdapApproversSchema, EntraApproversSchema]);
export type AssistedLogin = z.infer<typeof AssistedLoginSchema>;

/**
 * The password reset portal of an endpoint (/reset/<endpoint>; /reset is the default endpoint's).
 * Off unless present. The user proves their phone, one of the approvers approves, and the
 * endpoint's relay site changes the password in the directory.
 */
export const ResetSchema = z.object({
  /** Who may approve a reset; default: the endpoint's Assisted Login approvers. */
  approvers: z.array(LocalApproverSchema).min(1).optional(),
  /** The relay site that looks users up and changes passwords; default: the endpoint's name. */
  site: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .optional(),
  /** The page's courtesy check; the relay's own policy is the one that counts (keep them the same). */
  policy: PasswordPolicySchema.default(PasswordPolicySchema.parse({})),
  /** Minutes a reset may take from the username to the new password. */
  minutes: z.number().int().min(3).max(60).default(15),
  /** Resets one username may start (any client), and one client address (IPv6: /64) may start. */
  perUsername: RateLimitSchema.default({ perMinute: 2, perHour: 5 }),
  perIp: RateLimitSchema.default({ perMinute: 5, perHour: 30 }),
});
export type ResetSettings = z.infer<typeof ResetSchema>;

/**
 * Where the async API (/api/v2) posts an endpoint's results. The URL is https (plain http only
 * to a loopback host, and only delivered to in DEMO_MODE: see webhookUrlRefusal). The signing
 * secret is a Worker secret (`whsec_…`, Standard Webhooks); this names it, never holds it, so
 * no GET, audit row or log line can show it.
 */
export const WebhookSchema = z.object({
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .refine(isHttpsOrLoopback, "webhook.url must be an https:// URL (plain http only to localhost, in DEMO_MODE)"),
  signingSecret: z.object({
    secret: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "webhook.signingSecret.secret must name a Worker secret, e.g. ACME_WEBHOOK_SECRET"),
  }),
});
export type Webhook = z.infer<typeof WebhookSchema>;

/**
 * Why a webhook URL is not delivered to (null: it is): plain http, or a private-network host
 * (https://10.0.0.1, https://169.254.169.254), outside DEMO_MODE. An endpoint's settings are
 * the console's and admin API's to write: they must not aim the edge's posts at a private
 * network or a cloud's metadata service (defence in depth: Cloudflare routes neither).
 */
export function webhookUrlRefusal(url: string, demoMode: boolean): string | null {
  if (!isHttpsOrLoopback(url)) return "webhook.url must be https";
  if (demoMode) return null;
  const u = new URL(url);
  if (u.protocol === "http:") return "plain http webhooks (localhost) are delivered only in DEMO_MODE";
  if (isPrivateNetworkHost(u.hostname)) return "webhook.url names a private-network host (delivered only in DEMO_MODE)";
  return null;
}

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
   * What an Accept in the app needs: "tap" (the device's signed answer) or "user-verification"
   * (also a WebAuthn assertion with user verification, biometric or device PIN, bound to the
   * challenge). A Reject never needs more than a tap.
   */
  appApproval: z.enum(["tap", "user-verification"]).default("tap"),
  /** Under "user-verification", a device without a platform authenticator: "refuse" its Accepts, or take a "tap". */
  uvFallback: z.enum(["refuse", "tap"]).default("refuse"),
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
  /**
   * This endpoint's own share of pending sessions (absent: only the global overload.maxPending
   * applies). Past it, its calls get BAD_REQUEST (429, reason endpoint_overloaded) while other
   * endpoints go on: one tenant's flood cannot take every slot.
   */
  maxPending: z.number().int().min(1).max(1_000_000).optional(),
  numberChange: z.enum(["confirm", "accept-after-notice"]).default("confirm"),
  numberChangeNoticeHours: z.number().int().min(1).max(720).default(72),
  /** The password reset portal (off unless set). */
  reset: ResetSchema.optional(),
  /** The async API's webhook (off unless set): each final result is posted there, signed. */
  webhook: WebhookSchema.optional(),
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
  /**
   * Password reset: the public half of the site's encryption key (`npm run relay --
   * keygen-encryption`). The reset page encrypts new passwords to it; every relay of a site
   * holds the same private key, so any of them can change the password.
   */
  encryptionJwk: z.object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: z.string(), y: z.string() }).optional(),
});
export type Relay = z.infer<typeof RelaySchema>;

/** The site a relay belongs to (see RelaySchema.site). */
export function relaySite(relay: Pick<Relay, "site" | "endpoint">): string {
  return relay.site ?? relay.endpoint;
}

export const ConfigSchema = z
  .object({
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
     * A new authenticator app for a number that already has one joins only after this long,
     * during which the number's apps are notified and any of them can refuse (one minute to a week).
     */
    deviceReplacementGraceSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(86_400),
    /** Authenticator apps (phone, tablet, ...) one number may have; one more is refused. */
    maxDevicesPerNumber: z.number().int().min(1).max(10).default(5),
    /**
     * Failed Magic Link / offline API calls one client address (IPv6: /64) may make before it
     * gets BAD_REQUEST 429 rate_limited: key guessing and audit flooding.
     */
    ipFailureLimit: RateLimitSchema.default({ perMinute: 10, perHour: 100 }),
    /**
     * Activation started in the app (enter the number, get the activation SMS). Off unless set,
     * since anyone may ask it to send an SMS. `endpoint`: whose title starts the SMS (the
     * number's sign-in rate limit is not spent: anyone may ask); `ipLimit`: requests one client
     * address (IPv6: /64) may make; `smsBudget`: activation SMS the whole deployment sends this
     * way (many addresses asking for many numbers, SMS pumping, stop there).
     */
    appActivation: z
      .object({
        endpoint: z.string().regex(ENDPOINT_NAME),
        ipLimit: RateLimitSchema.default({ perMinute: 3, perHour: 10 }),
        smsBudget: RateLimitSchema.default({ perMinute: 20, perHour: 200 }),
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    // One site, one encryption key: the page cannot know which relay of the site will answer.
    const bySite = new Map<string, string>();
    config.relays.forEach((relay, i) => {
      if (!relay.encryptionJwk) return;
      const site = relaySite(relay);
      const jwk = `${relay.encryptionJwk.x}.${relay.encryptionJwk.y}`;
      const seen = bySite.get(site);
      if (seen === undefined) bySite.set(site, jwk);
      else if (seen !== jwk) {
        ctx.addIssue({
          code: "custom",
          path: ["relays", i, "encryptionJwk"],
          message: `relays of site "${site}" must share one encryptionJwk`,
        });
      }
    });
  });
export type Config = z.infer<typeof ConfigSchema>;

/** The encryption key of a relay site (the same on all its relays: see ConfigSchema), or null. */
export function siteEncryptionJwk(config: Pick<Config, "relays">, site: string): NonNullable<Relay["encryptionJwk"]> | null {
  return config.relays.find((r) => relaySite(r) === site && r.encryptionJwk)?.encryptionJwk ?? null;
}

export const DEFAULT_TEXTS: Texts = {
  sms: "Approve your sign-in:",
  title: "Sign-in request",
  authentication: "Someone is signing in with your phone number. Was it you?",
  touchAccept: "Sign-in approved. You can close this page.",
  touchReject: "Sign-in rejected. You can close this page.",
  buttonAccept: "Accept",
  buttonReject: "Reject",
};
