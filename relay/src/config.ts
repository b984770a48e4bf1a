import { readFileSync } from "node:fs";
import { z } from "zod";
import { E164, normalizeUsername } from "../../core/contracts/relay.ts";
import { USERNAME_ATTRIBUTE_REQUIRED, ldapAccountAttribute } from "./first-factor/ldap-account.ts";

/**
 * Relay configuration file (JSON). Validated at start-up; every error names its field.
 * See relay/relay.example.json for a documented example.
 */
const SecondFactorSchema = z
  .union([z.enum(["touch", "touch-plus", "touch-mobile", "sms", "totp"]), z.literal(6), z.literal(7), z.literal(8)])
  .transform((v) => (v === 6 ? "touch" : v === 7 ? "touch-plus" : v === 8 ? "touch-mobile" : v));
export type SecondFactor = z.output<typeof SecondFactorSchema>;

const ClientSchema = z.object({
  name: z.string().min(1),
  /** Source address of the NAS: an IP address or a CIDR block (IPv4 or IPv6). */
  address: z.string().min(1),
  secret: z.string().min(1),
  /** BlastRADIUS defence: drop Access-Requests without a valid Message-Authenticator. */
  requireMessageAuthenticator: z.boolean().default(true),
  secondFactor: SecondFactorSchema.optional(),
});
export type ClientConfig = z.infer<typeof ClientSchema>;

const LdapSchema = z
  .object({
    type: z.literal("ldap"),
    url: z.string().regex(/^ldaps?:\/\//, "url must start with ldap:// or ldaps://"),
    startTls: z.boolean().default(false),
    /** Direct bind: DN template with {user}, e.g. "uid={user},ou=people,dc=example,dc=com". */
    bindDnTemplate: z.string().includes("{user}").optional(),
    /** Search then bind (AD style): service account finds the user's DN. */
    search: z
      .object({
        baseDn: z.string(),
        filter: z.string().includes("{user}").default("(sAMAccountName={user})"),
        bindDn: z.string(),
        bindPassword: z.string(),
      })
      .optional(),
    /** Directory attribute holding the user's mobile number (E.164). */
    mobileAttribute: z.string().default("mobile"),
    /**
     * Attribute that names the account (its value keys the user's number pin and `users`
     * entry). Default: the attribute of a `bindDnTemplate` like "uid={user},…" or of a search
     * filter like "(sAMAccountName={user})"; required for any other template or filter.
     */
    usernameAttribute: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]*$/, "usernameAttribute must be an attribute name")
      .optional(),
    timeoutMs: z.number().int().positive().default(5000),
    caFile: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
  })
  .refine((l) => Boolean(l.bindDnTemplate) !== Boolean(l.search), "set exactly one of bindDnTemplate or search")
  .refine((l) => !(Boolean(l.bindDnTemplate) !== Boolean(l.search)) || ldapAccountAttribute(l) !== null, {
    message: USERNAME_ATTRIBUTE_REQUIRED,
    path: ["usernameAttribute"],
  });

const UpstreamRadiusSchema = z.object({
  type: z.literal("radius"),
  host: z.string(),
  port: z.number().int().min(1).max(65535).default(1812),
  secret: z.string().min(1),
  timeoutMs: z.number().int().positive().default(3000),
  retries: z.number().int().min(0).max(5).default(2),
});

const FIRST_FACTOR_REQUIRED =
  'firstFactor is required: {"type":"ldap",…} or {"type":"radius",…} checks the password on-prem; ' +
  '{"type":"none"} (no password check at all: only when the NAS checks it) must be written explicitly';
const FirstFactorSchema = z.discriminatedUnion("type", [z.object({ type: z.literal("none") }), LdapSchema, UpstreamRadiusSchema], {
  error: (iss) => (iss.input === undefined ? FIRST_FACTOR_REQUIRED : undefined),
});
export type FirstFactorConfig = z.infer<typeof FirstFactorSchema>;

export const RelayConfigSchema = z.object({
  listen: z
    .object({ host: z.string().default("0.0.0.0"), port: z.number().int().min(0).max(65535).default(1812) })
    .default({ host: "0.0.0.0", port: 1812 }),
  clients: z.array(ClientSchema).min(1),
  edge: z.object({
    url: z.url(),
    relayName: z.string().min(1),
    /** PKCS#8 PEM or JWK file with the relay's ES256 private key (`npm run relay -- keygen`). */
    privateKeyFile: z.string(),
    /** Timeout for non-blocking edge calls (OTP send/verify). */
    timeoutMs: z.number().int().positive().default(10_000),
  }),
  /** What to do when the edge cannot be reached: "secure" rejects, "safe" accepts after the first factor. */
  failMode: z.enum(["secure", "safe"]).default("secure"),
  /** No default: a relay that checks no password must say so ({"type":"none"}). */
  firstFactor: FirstFactorSchema,
  secondFactor: SecondFactorSchema.default("touch"),
  /** Seconds a Touch waits for the user (15-300); the NAS timeout must be longer (>= 35 s for 30). */
  touchTimeoutSeconds: z.number().int().min(15).max(300).default(30),
  challengeTtlSeconds: z.number().int().min(30).max(900).default(300),
  replyCacheSeconds: z.number().int().min(1).max(300).default(30),
  /**
   * Per-user settings. Keys match usernames as the directory does (normalizeUsername:
   * trimmed, case-insensitive). An msisdn here wins over the directory's mobile attribute.
   */
  users: z
    .record(
      z.string(),
      z.object({
        msisdn: z.string().regex(E164, "msisdn must be E.164, e.g. +46701234567").optional(),
        secondFactor: SecondFactorSchema.optional(),
      }),
    )
    .default({})
    .transform((users, ctx) => {
      const out: Record<string, { msisdn?: string | undefined; secondFactor?: SecondFactor | undefined }> = {};
      for (const [name, u] of Object.entries(users)) {
        const key = normalizeUsername(name);
        if (key in out)
          ctx.addIssue({ code: "custom", message: `users "${name}" is the same user as another entry (usernames are case-insensitive)` });
        out[key] = u;
      }
      return out;
    }),
  /**
   * Opt-in: a username that is an E.164 number is used as the phone number, and only for a
   * user the relay knows (its password checked by LDAP / upstream RADIUS, or listed in `users`).
   */
  usernameAsMsisdn: z.boolean().default(false),
  log: z.object({ level: z.enum(["debug", "info", "warn", "error"]).default("info") }).default({ level: "info" }),
  /**
   * The relay link (off by default): an outbound WebSocket to the edge over which the edge
   * asks this relay about the directory (docs/operations.md "Relay link").
   */
  link: z
    .object({
      enabled: z.boolean().default(false),
      /** How long one request from the edge may take on this relay. */
      requestTimeoutMs: z.number().int().min(100).max(30_000).default(8_000),
      /** The only groups (DNs) "group.members" answers for: approver groups, nothing else. */
      groups: z
        .array(z.string().min(3).includes("=", { message: "groups entries must be DNs, e.g. cn=approvers,ou=groups,dc=example,dc=com" }))
        .default([]),
      /** A keepalive ping this often; no pong within half of it (at least 1 s) and the link is re-dialled. */
      keepaliveSeconds: z.number().int().min(1).max(300).default(20),
      /** Group answers are reused this long (0: never cached). */
      groupCacheSeconds: z.number().int().min(0).max(86_400).default(300),
    })
    .default({ enabled: false, requestTimeoutMs: 8_000, keepaliveSeconds: 20, groups: [], groupCacheSeconds: 300 }),
});
export type RelayConfig = z.infer<typeof RelayConfigSchema>;

export class RelayConfigError extends Error {
  override name = "RelayConfigError";
}

export function parseRelayConfig(json: unknown): RelayConfig {
  const r = RelayConfigSchema.safeParse(json);
  if (!r.success) throw new RelayConfigError(`invalid relay config:\n${z.prettifyError(r.error)}`);
  return r.data;
}

export function loadRelayConfig(path: string): RelayConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new RelayConfigError(`cannot read config ${path}: ${(e as Error).message}`);
  }
  try {
    return parseRelayConfig(JSON.parse(text));
  } catch (e) {
    if (e instanceof RelayConfigError) throw e;
    throw new RelayConfigError(`config ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
