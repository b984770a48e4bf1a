import { Hono } from "hono";
import { z } from "zod";
import { ENDPOINT_NAME, EndpointSettingsSchema } from "../config/schema";
import { loadConfig } from "../config/load";
import { AdminConfigError, adminFromRequest } from "../lib/admin-auth";
import { MsisdnSchema } from "../../core/contracts/magic-link";
import { MAX_SEED_BYTES, MIN_SEED_BYTES, isUsableSeedLength, seedFromBase32 } from "../../core/otp";
import {
  createApiToken,
  createEndpoint,
  deleteEndpoint,
  regenerateApiToken,
  revokeApiToken,
  updateEndpoint,
} from "../domain/endpoint-admin";
import { cancelPinChange, confirmPinChange, removeNumberPin } from "../domain/number-pin-admin";
import { clearSubscriberLocks, revokeDevice, subscriberSummary } from "../domain/subscriber-admin";
import { LOCK_KINDS, type LockKindName, type LockView } from "../objects/subscriber/contract";
import { enrollTotpToken, removeTotpToken } from "../domain/totp-tokens";
import { queryAudit } from "../store/audit";
import { getEndpoint, listEndpoints, listTokens } from "../store/endpoints";
import { getPin, listPins, type PinRow } from "../store/relay-pins";
import { USERNAME_MAX, normalizeUsername } from "../../core/contracts/relay";
import { invalidRequest, issueList, validate } from "./validate";
import { log } from "../lib/log";
import { redactPath } from "../../core/redact";

/**
 * Operator API, mounted at /admin/v1: endpoints, their API tokens, subscribers' TOTP tokens,
 * RADIUS users' pinned numbers, and the audit log.
 * Bearer admin tokens (named; only their SHA-256 is configured); every change is audited
 * under the acting admin's name (see the domain/ modules each change calls for how the row
 * is kept with its change).
 */
type AdminEnv = { Bindings: Env; Variables: { admin: string } };
export const adminApi = new Hono<AdminEnv>();

adminApi.use(async (c, next) => {
  let admin: string | null;
  try {
    admin = await adminFromRequest(c.env, c.req.header("authorization"));
  } catch (e) {
    if (!(e instanceof AdminConfigError)) throw e;
    log.error("config_error", { error: e.message });
    return c.json({ error: "admin tokens misconfigured" }, 500);
  }
  if (!admin) {
    log.warn("admin_auth_failed", { path: redactPath(c.req.path) });
    return c.json({ error: "unauthorized" }, 401);
  }
  c.set("admin", admin);
  await next();
});

const NameParam = z.object({ name: z.string().regex(ENDPOINT_NAME, "endpoint names are 1-64 of A-Z a-z 0-9 . _ -") });
const TokenParam = NameParam.extend({ id: z.string().min(1).max(64) });
const MsisdnParam = z.object({ msisdn: MsisdnSchema });
const ExpiryDate = z.iso.date("expires must be a date, YYYY-MM-DD (last valid day, UTC)");

// ---- endpoints ---------------------------------------------------------------------------

adminApi.get("/endpoints", async (c) => {
  const config = loadConfig(c.env);
  return c.json({
    endpoints: (await listEndpoints(c.env.DB)).map((e) => ({ ...e, source: "admin" })),
    // Endpoints from MFA_CONFIG are read-only here (change them in the deployment config).
    static: config.endpoints.map(({ apiKeys, ...e }) => ({ ...e, apiKeys: apiKeys.length, source: "config" })),
  });
});

adminApi.post(
  "/endpoints",
  validate("json", EndpointSettingsSchema.extend({ name: NameParam.shape.name }).strict(), issueList),
  async (c) => {
    const { name, ...settings } = c.req.valid("json");
    const created = await createEndpoint(c.env, c.get("admin"), name, settings);
    if (created.kind === "in_config") return c.json({ error: `endpoint "${name}" is defined in MFA_CONFIG` }, 409);
    if (created.kind === "exists") return c.json({ error: `endpoint "${name}" exists` }, 409);
    return c.json(created.row, 201);
  },
);

adminApi.get("/endpoints/:name", validate("param", NameParam, issueList), async (c) => {
  const row = await getEndpoint(c.env.DB, c.req.valid("param").name);
  return row ? c.json(row) : c.json({ error: "no such endpoint" }, 404);
});

/** Partial update (see updateEndpoint): a merged result that does not validate is a 400. */
adminApi.patch(
  "/endpoints/:name",
  validate("param", NameParam, issueList),
  validate("json", z.record(z.string(), z.unknown()), issueList),
  async (c) => {
    const updated = await updateEndpoint(c.env, c.get("admin"), c.req.valid("param").name, c.req.valid("json"));
    if (updated.kind === "not_found") return c.json({ error: "no such endpoint" }, 404);
    if (updated.kind === "invalid") return invalidRequest(c, updated.error, "json");
    return c.json(updated.row);
  },
);

adminApi.delete("/endpoints/:name", validate("param", NameParam, issueList), async (c) => {
  if (!(await deleteEndpoint(c.env, c.get("admin"), c.req.valid("param").name))) return c.json({ error: "no such endpoint" }, 404);
  return c.body(null, 204);
});

// ---- API tokens --------------------------------------------------------------------------

const tokenView = (t: Awaited<ReturnType<typeof listTokens>>[number], now: number) => ({
  ...t,
  status: t.revoked_at ? "revoked" : t.expires && now >= Date.parse(`${t.expires}T00:00:00Z`) + 86_400_000 ? "expired" : "active",
});

adminApi.get("/endpoints/:name/tokens", validate("param", NameParam, issueList), async (c) => {
  const { name } = c.req.valid("param");
  if (!(await getEndpoint(c.env.DB, name))) return c.json({ error: "no such endpoint" }, 404);
  const now = Date.now();
  return c.json({ tokens: (await listTokens(c.env.DB, name)).map((t) => tokenView(t, now)) });
});

adminApi.post(
  "/endpoints/:name/tokens",
  validate("param", NameParam, issueList),
  validate("json", z.object({ name: z.string().min(1).max(100), expires: ExpiryDate.optional() }).strict(), issueList),
  async (c) => {
    const endpoint = c.req.valid("param").name;
    const body = c.req.valid("json");
    const token = { name: body.name, expires: body.expires ?? null };
    const created = await createApiToken(c.env, c.get("admin"), endpoint, token);
    if (!created) return c.json({ error: "no such endpoint" }, 404);
    return c.json({ id: created.id, endpoint, ...token, secret: created.secret }, 201);
  },
);

adminApi.delete("/endpoints/:name/tokens/:id", validate("param", TokenParam, issueList), async (c) => {
  const { name, id } = c.req.valid("param");
  if (!(await revokeApiToken(c.env, c.get("admin"), name, id))) return c.json({ error: "no such active token" }, 404);
  return c.body(null, 204);
});

adminApi.post("/endpoints/:name/tokens/:id/regenerate", validate("param", TokenParam, issueList), async (c) => {
  const { name, id } = c.req.valid("param");
  const regenerated = await regenerateApiToken(c.env, c.get("admin"), name, id);
  if (!regenerated) return c.json({ error: "no such active token" }, 404);
  return c.json({ id, endpoint: name, secret: regenerated.secret });
});

// ---- subscribers -------------------------------------------------------------------------

/** The number's activated app devices (phone, tablet, ...), its on-prem token and lockouts. */
adminApi.get("/subscribers/:msisdn", validate("param", MsisdnParam, issueList), async (c) => {
  const { msisdn } = c.req.valid("param");
  const { devices, totp, locks } = await subscriberSummary(c.env, msisdn);
  const lock = (l: LockView) => ({
    failures: l.failures,
    lockedUntil: l.lockedUntil === null ? null : new Date(l.lockedUntil).toISOString(),
  });
  return c.json({
    msisdn,
    totp,
    locks: { offline: lock(locks.offline), smsOtp: lock(locks.smsOtp) },
    devices: devices.map((d) => ({
      id: d.deviceId,
      name: d.name,
      push: d.push,
      userVerification: d.userVerification,
      activatedAt: new Date(d.activatedAt).toISOString(),
    })),
  });
});

/** Revokes one app device of the number: no more pushes to it, its offline codes stop working; the others keep working. */
adminApi.delete(
  "/subscribers/:msisdn/devices/:deviceId",
  validate("param", MsisdnParam.extend({ deviceId: z.string().min(1).max(64) }), issueList),
  async (c) => {
    const { msisdn, deviceId } = c.req.valid("param");
    if (!(await revokeDevice(c.env, c.get("admin"), msisdn, deviceId))) return c.json({ error: "no such device" }, 404);
    return c.body(null, 204);
  },
);

/**
 * Lifts the number's wrong-code lockouts: `kind` offline (TOTP and signed challenges), sms-otp,
 * or all (the default). Answers which ones held anything.
 */
adminApi.delete(
  "/subscribers/:msisdn/locks",
  validate("param", MsisdnParam, issueList),
  validate("query", z.object({ kind: z.enum(["offline", "sms-otp", "all"]).default("all") }), issueList),
  async (c) => {
    const { msisdn } = c.req.valid("param");
    const kind = c.req.valid("query").kind;
    const kinds: LockKindName[] = kind === "all" ? [...LOCK_KINDS] : [kind === "sms-otp" ? "smsOtp" : "offline"];
    const cleared = await clearSubscriberLocks(c.env, c.get("admin"), msisdn, kinds);
    return c.json({ msisdn, cleared: cleared.map((k) => (k === "smsOtp" ? "sms-otp" : k)) });
  },
);

/** An imported seed must be one the TOTP check can use (otplib throws outside 16-64 bytes). */
const Base32 = z
  .string()
  .regex(/^[A-Z2-7]{1,128}=*$/, "secret must be base32 (A-Z, 2-7)")
  .refine((s) => {
    try {
      return isUsableSeedLength(seedFromBase32(s).length);
    } catch {
      return false; // not a whole number of base32 groups
    }
  }, `secret must decode to ${MIN_SEED_BYTES}-${MAX_SEED_BYTES} bytes (26-103 base32 characters)`);

/** Enrolls an on-prem TOTP token for a number (see enrollTotpToken): its seed is answered once. */
adminApi.put(
  "/subscribers/:msisdn/totp",
  validate("param", MsisdnParam, issueList),
  validate("json", z.object({ secret: Base32.optional() }).strict(), issueList),
  async (c) => {
    const { msisdn } = c.req.valid("param");
    const { secret, uri } = await enrollTotpToken(c.env, c.get("admin"), msisdn, c.req.valid("json").secret);
    return c.json({ msisdn, secret, uri }, 201);
  },
);

adminApi.delete("/subscribers/:msisdn/totp", validate("param", MsisdnParam, issueList), async (c) => {
  if (!(await removeTotpToken(c.env, c.get("admin"), c.req.valid("param").msisdn))) return c.json({ error: "no TOTP token enrolled" }, 404);
  return c.body(null, 204);
});

// ---- audit log ---------------------------------------------------------------------------

const AuditQuerySchema = z.object({
  kind: z.enum(["auth", "admin"]).optional(),
  endpoint: z.string().regex(ENDPOINT_NAME).optional(),
  since: z.iso
    .datetime({ offset: true })
    .transform((s) => Date.parse(s))
    .optional(),
  until: z.iso
    .datetime({ offset: true })
    .transform((s) => Date.parse(s))
    .optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

adminApi.get("/audit", validate("query", AuditQuerySchema, issueList), async (c) => {
  const q = c.req.valid("query");
  const { entries, next } = await queryAudit(c.env.DB, q);
  return c.json({ entries: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })), next });
});

// ---- RADIUS number pins ------------------------------------------------------------------

const PinParam = z.object({
  endpoint: z.string().regex(ENDPOINT_NAME),
  username: z.string().max(USERNAME_MAX).transform(normalizeUsername).pipe(z.string().min(1)),
});

/** Pins with their pending changes; `pending=true` lists only users awaiting confirmation. */
adminApi.get(
  "/relay-pins",
  validate(
    "query",
    z.object({
      endpoint: z.string().regex(ENDPOINT_NAME).optional(),
      pending: z.enum(["true", "false"]).default("false"),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
    issueList,
  ),
  async (c) => {
    const q = c.req.valid("query");
    const pins = await listPins(c.env.DB, {
      ...(q.endpoint ? { endpoint: q.endpoint } : {}),
      pendingOnly: q.pending === "true",
      limit: q.limit,
    });
    return c.json({ pins: pins.map(pinView) });
  },
);

adminApi.get("/relay-pins/:endpoint/:username", validate("param", PinParam, issueList), async (c) => {
  const { endpoint, username } = c.req.valid("param");
  const pin = await getPin(c.env.DB, endpoint, username);
  return pin ? c.json(pinView(pin)) : c.json({ error: "no pin for this user" }, 404);
});

/** Confirms the pending number (see confirmPinChange); with {"msisdn"}, only if that is the pending one. */
adminApi.post(
  "/relay-pins/:endpoint/:username/confirm",
  validate("param", PinParam, issueList),
  validate("json", z.object({ msisdn: MsisdnSchema.optional() }).strict(), issueList),
  async (c) => {
    const { endpoint, username } = c.req.valid("param");
    const confirmed = await confirmPinChange(c.env, c.get("admin"), endpoint, username, c.req.valid("json").msisdn);
    switch (confirmed.kind) {
      case "no_pending":
        return c.json({ error: "no pending number change for this user" }, 409);
      case "not_that_number":
        return c.json({ error: "the pending number is not the one given" }, 409);
      case "changed_meanwhile":
        return c.json({ error: "the pending number changed meanwhile; look again" }, 409);
      case "confirmed":
        return c.json(pinView(confirmed.pin));
    }
  },
);

adminApi.delete("/relay-pins/:endpoint/:username/pending", validate("param", PinParam, issueList), async (c) => {
  const { endpoint, username } = c.req.valid("param");
  const ok = await cancelPinChange(c.env, c.get("admin"), endpoint, username);
  return ok ? c.body(null, 204) : c.json({ error: "no pending number change for this user" }, 404);
});

/** Removes the pin: the next login pins whatever number the directory reports then. */
adminApi.delete("/relay-pins/:endpoint/:username", validate("param", PinParam, issueList), async (c) => {
  const { endpoint, username } = c.req.valid("param");
  const ok = await removeNumberPin(c.env, c.get("admin"), endpoint, username);
  return ok ? c.body(null, 204) : c.json({ error: "no pin for this user" }, 404);
});

function pinView(p: PinRow) {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    endpoint: p.endpoint,
    username: p.username,
    msisdn: p.msisdn,
    pinnedAt: iso(p.pinned_at),
    pending: p.pending_msisdn ? { msisdn: p.pending_msisdn, since: iso(p.pending_at) } : null,
    noticeSentAt: iso(p.notified_at),
  };
}
