import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";
import { E164, normalizeUsername } from "../../core/contracts/relay.ts";
import { isHttpsOrLoopback } from "../../core/loopback.ts";
import { TOUCH_BATCH_MAX_LOGINS } from "../../core/contracts/relay-api.ts";
import { CHALLENGE_TTL_MAX_SECONDS, CHALLENGE_TTL_MIN_SECONDS } from "../../core/contracts/relay-challenge.ts";
import { USERNAME_ATTRIBUTE_REQUIRED, ldapAccountAttribute } from "./first-factor/ldap-account.ts";
import { PasswordPolicySchema } from "../../core/password-policy-schema.ts";
import { RadsecSchema } from "./radsec/config.ts";
import { type SecondFactor, SecondFactorSchema, type TotpSource, TotpSourceSchema } from "./second-factor.ts";

export type { SecondFactor, TotpSource };

/**
 * Relay configuration file (JSON). Validated at start-up; every error names its field.
 * See relay/relay.example.json for a documented example.
 */

const ClientSchema = z.object({
  name: z.string().min(1),
  /** Source address of the NAS: an IP address or a CIDR block (IPv4 or IPv6). */
  address: z.string().min(1),
  secret: z.string().min(1),
  /** BlastRADIUS defence: drop Access-Requests without a valid Message-Authenticator. */
  requireMessageAuthenticator: z.boolean().default(true),
  secondFactor: SecondFactorSchema.optional(),
  totpSource: TotpSourceSchema.optional(),
});
export type ClientConfig = z.infer<typeof ClientSchema>;

/** An LDAP attribute that names the account (uid, sAMAccountName). */
const UsernameAttributeSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9-]*$/, "usernameAttribute must be an attribute name")
  .optional();

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
    usernameAttribute: UsernameAttributeSchema,
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

/**
 * The directory side of the password reset portal (docs/operations.md, "Password reset"): the
 * relay looks users up and sets new passwords with a service account, after decrypting what the
 * user's browser encrypted to `encryptionKeyFile` and checking `policy` and the breached list.
 */
export const PasswordResetSchema = z
  .object({
    /** "openldap": RFC 3062 Password Modify; "ad": unicodePwd replace (needs ldaps:// or startTls). */
    directory: z.enum(["openldap", "ad"]),
    url: z.string().regex(/^ldaps?:\/\//, "url must start with ldap:// or ldaps://"),
    startTls: z.boolean().default(false),
    caFile: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
    timeoutMs: z.number().int().positive().default(5000),
    /** May write users' passwords (OpenLDAP: `write` on userPassword, not `manage`, or ppolicy is bypassed). */
    serviceAccount: z.object({ bindDn: z.string().min(1), bindPassword: z.string().min(1) }),
    /** Finds the user's entry; `{user}` is escaped. Exactly one match or the user is "not found". */
    userSearch: z.object({ baseDn: z.string().min(1), filter: z.string().includes("{user}") }),
    /**
     * The attribute that names the account (uid, sAMAccountName), told to the edge with the
     * lookup so an approver listed under that name cannot approve this user's reset. Default:
     * the attribute of a filter that is one (attribute={user}); else none (the edge has only
     * the name typed).
     */
    usernameAttribute: UsernameAttributeSchema,
    mobileAttribute: z.string().default("mobile"),
    displayNameAttribute: z.string().default("displayName"),
    /** P-256 ECDH private key (`npm run relay -- keygen-encryption`); its public JWK is the edge's `encryptionJwk`. */
    encryptionKeyFile: z.string().min(1),
    /** Checked again here: the page's check is only a courtesy (the edge never sees the password). */
    policy: PasswordPolicySchema.default(PasswordPolicySchema.parse({})),
    /** SHA-1 list (core/breached-passwords.ts); default: the list shipped in data/breached-passwords.txt. */
    breachedListFile: z.string().optional(),
  })
  .refine((r) => r.directory !== "ad" || r.url.startsWith("ldaps:") || r.startTls, {
    message: 'Active Directory sets passwords only over an encrypted connection: use an ldaps:// url or "startTls": true',
    path: ["url"],
  });
export type PasswordResetConfig = z.infer<typeof PasswordResetSchema>;

const PortSchema = z.number().int().min(0).max(65535);

/** 127.0.0.0/8, ::1 and "localhost": the admin port's default reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

/**
 * The local admin HTTP port: /metrics (Prometheus) and /healthz. Off unless configured;
 * anything but loopback must be asked for (`allowNonLoopback`): the metrics name clients
 * and show traffic.
 */
const AdminSchema = z
  .object({
    listen: z.object({ host: z.string().default("127.0.0.1"), port: PortSchema.default(9812) }).default({ host: "127.0.0.1", port: 9812 }),
    allowNonLoopback: z.boolean().default(false),
    /** How long /healthz reuses its last edge probe (a load balancer polling every second must not hammer the edge). */
    healthCacheSeconds: z.number().int().min(1).max(60).default(5),
  })
  .refine((a) => a.allowNonLoopback || isLoopback(a.listen.host), {
    message: "admin.listen.host is not a loopback address: set admin.allowNonLoopback to true to expose /metrics and /healthz",
    path: ["listen", "host"],
  });
export type AdminConfig = z.infer<typeof AdminSchema>;

/**
 * Accounting (RFC 2866): a second UDP socket (on listen.host); with `forward`, each record is
 * sent to an upstream accounting server and acknowledged only once it acknowledged it.
 */
const AccountingSchema = z.object({
  port: PortSchema.default(1813),
  forward: z
    .object({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(1813),
      secret: z.string().min(1),
      timeoutMs: z.number().int().positive().default(3000),
      retries: z.number().int().min(0).max(5).default(2),
    })
    .optional(),
});
export type AccountingConfig = z.infer<typeof AccountingSchema>;

export const RelayConfigSchema = z.object({
  listen: z
    .object({ host: z.string().default("0.0.0.0"), port: z.number().int().min(0).max(65535).default(1812) })
    .default({ host: "0.0.0.0", port: 1812 }),
  /** RADIUS/UDP clients; may be empty when `radsec` has clients (a RadSec-only relay). */
  clients: z.array(ClientSchema).default([]),
  /** RadSec (RADIUS over TLS, RFC 6614): off unless configured. */
  radsec: RadsecSchema.optional(),
  edge: z.object({
    // The edge's answers (accept, reject) are not signed: TLS is what makes them the edge's.
    url: z.url().refine(isHttpsOrLoopback, "edge.url must be an https:// URL (plain http only to localhost / 127.0.0.1 / ::1)"),
    relayName: z.string().min(1),
    /** PKCS#8 PEM or JWK file with the relay's ES256 private key (`npm run relay -- keygen`). */
    privateKeyFile: z.string(),
    /** Timeout for non-blocking edge calls (OTP send/verify). */
    timeoutMs: z.number().int().positive().default(10_000),
    /** The most Touch logins of one event-loop round sent in one edge call (TOUCH_BATCH); 1 sends each alone. */
    touchBatchMax: z.number().int().min(1).max(TOUCH_BATCH_MAX_LOGINS).default(TOUCH_BATCH_MAX_LOGINS),
  }),
  /** What to do when the edge cannot be reached: "secure" rejects, "safe" accepts after the first factor. */
  failMode: z.enum(["secure", "safe"]).default("secure"),
  /** No default: a relay that checks no password must say so ({"type":"none"}). */
  firstFactor: FirstFactorSchema,
  secondFactor: SecondFactorSchema.default("touch"),
  totpSource: TotpSourceSchema.default("edge"),
  /** The local TOTP token store (`npm run relay -- tokens …`): needed when any totpSource is "local" or "both". */
  localTokens: z.object({ dbFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  /** Seconds a Touch waits for the user (15-300); the NAS timeout must be longer (>= 35 s for 30). */
  touchTimeoutSeconds: z.number().int().min(15).max(300).default(30),
  /** How long an Access-Challenge's State may be answered (kept at the edge, shared by the site's relays). */
  challengeTtlSeconds: z.number().int().min(CHALLENGE_TTL_MIN_SECONDS).max(CHALLENGE_TTL_MAX_SECONDS).default(300),
  replyCacheSeconds: z.number().int().min(1).max(300).default(30),
  /**
   * Processes serving RADIUS authentication on the UDP port (1-64; the CPU cores to use). Above
   * 1 the primary forks that many workers sharing the port (relay/src/cluster.ts) and keeps the
   * admin port, accounting, RadSec, the relay link and reloads itself.
   */
  processes: z.number().int().min(1).max(64).default(1),
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
        totpSource: TotpSourceSchema.optional(),
      }),
    )
    .default({})
    .transform((users, ctx) => {
      const out: Record<
        string,
        { msisdn?: string | undefined; secondFactor?: SecondFactor | undefined; totpSource?: TotpSource | undefined }
      > = {};
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
  /** Optional: serve the edge's password reset portal (user.lookup, password.change over the relay link). */
  passwordReset: PasswordResetSchema.optional(),
  admin: AdminSchema.optional(),
  accounting: AccountingSchema.optional(),
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

/** "local" or "both" anywhere needs the token store; the error names the field that asked for it. */
const CheckedRelayConfigSchema = RelayConfigSchema.superRefine((c, ctx) => {
  // The reset's questions and its password change arrive over the link: without it they never would.
  if (c.passwordReset && !c.link.enabled) {
    ctx.addIssue({
      code: "custom",
      path: ["link", "enabled"],
      message: 'passwordReset needs the relay link: set "link": {"enabled": true}',
    });
  }
  // Local TOTP challenges live in the memory of the process that issued them, and a NAS's
  // answer may come from another source port (so to another worker): refuse rather than fail logins.
  if (c.processes > 1 && c.localTokens) {
    ctx.addIssue({
      code: "custom",
      path: ["processes"],
      message:
        'processes > 1 cannot serve local TOTP ("localTokens"): its challenges are kept in one process; set "processes": 1 or remove "localTokens"',
    });
  }
  if (c.localTokens) return;
  const wants = [
    { path: ["totpSource"], source: c.totpSource },
    ...c.clients.map((cl, i) => ({ path: ["clients", i, "totpSource"], source: cl.totpSource })),
    ...Object.entries(c.users).map(([name, u]) => ({ path: ["users", name, "totpSource"], source: u.totpSource })),
  ];
  for (const w of wants) {
    if (w.source === "local" || w.source === "both") {
      ctx.addIssue({ code: "custom", path: w.path, message: `"${w.source}" needs "localTokens": {"dbFile": …, "keyFile": …}` });
    }
  }
});

export type RelayConfig = z.infer<typeof RelayConfigSchema>;

export class RelayConfigError extends Error {
  override name = "RelayConfigError";
}

export function parseRelayConfig(json: unknown): RelayConfig {
  const r = CheckedRelayConfigSchema.safeParse(json);
  if (!r.success) throw new RelayConfigError(`invalid relay config:\n${z.prettifyError(r.error)}`);
  if (r.data.clients.length === 0 && !r.data.radsec) {
    throw new RelayConfigError("invalid relay config:\n✖ clients: list at least one RADIUS client (or configure radsec.clients)");
  }
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
