import { Hono, type Context } from "hono";
import { generateSecret, generateURI } from "otplib";
import { z } from "zod";
import { ENDPOINT_NAME, EndpointSettingsSchema } from "../config/schema";
import { loadConfig } from "../config/load";
import { AdminConfigError, adminFromRequest } from "../lib/admin-auth";
import { MsisdnSchema } from "../../core/contracts/magic-link";
import { maskMsisdn } from "../../core/msisdn";
import { seedKeyFromEnv } from "../config/app-secrets";
import { MAX_SEED_BYTES, MIN_SEED_BYTES, isUsableSeedLength, seedFromBase32 } from "../../core/otp";
import { sealSeed, totpTokenContext } from "../../core/seed-crypto";
import { randomToken, sha256Hex } from "../../core/tokens";
import { adminAuditStatement, auditAdmin, queryAudit, type AdminAudit } from "../store/audit";
import {
  createEndpointStatement,
  deleteEndpointStatements,
  getEndpoint,
  insertTokenStatement,
  listEndpoints,
  listTokens,
  replaceTokenHashStatement,
  revokeTokenStatement,
  updateEndpointStatement,
} from "../store/endpoints";
import { applyPending, cancelPending, getPin, listPins, removePin, type PinRow } from "../store/relay-pins";
import { USERNAME_MAX, normalizeUsername } from "../../core/contracts/relay";
import { invalidRequest, issueList, validate } from "./validate";
import { log } from "../lib/log";
import { redactPath } from "../../core/redact";

/**
 * Operator API: endpoints, their API tokens, subscribers' TOTP tokens, RADIUS users' pinned
 * numbers, and the audit log.
 * Bearer admin tokens (named; only their SHA-256 is configured); every change is audited
 * under the acting admin's name. D1 changes and their audit row are one D1 batch (one
 * transaction): no change without its row, no row without its change. Changes held by a
 * Durable Object (devices, TOTP tokens) cannot join a D1 transaction: their row is written
 * right after the object confirmed the change.
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

type AuditFields = Omit<AdminAudit, "actor" | "action">;
/** The audit row of a D1 change, for its batch; written only if the statement before it changed a row. */
const auditStatement = (c: Context<AdminEnv>, action: string, fields: AuditFields = {}) =>
  adminAuditStatement(c.env.DB, { actor: c.get("admin"), action, ...fields }, { ifChanged: true });
/** The audit row of a Durable Object change, written once the object confirmed it. */
const auditAfter = (c: Context<AdminEnv>, action: string, fields: AuditFields = {}) =>
  auditAdmin(c.env.DB, { actor: c.get("admin"), action, ...fields });

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

adminApi.post("/endpoints", validate("json", EndpointSettingsSchema.extend({ name: NameParam.shape.name }).strict(), issueList), async (c) => {
  const { name, ...settings } = c.req.valid("json");
  if (loadConfig(c.env).endpoints.some((e) => e.name === name)) return c.json({ error: `endpoint "${name}" is defined in MFA_CONFIG` }, 409);
  const [created] = await c.env.DB.batch([
    createEndpointStatement(c.env.DB, name, settings, Date.now()),
    auditStatement(c, "endpoint.create", { endpoint: name, detail: settings }),
  ]);
  if (created!.meta.changes !== 1) return c.json({ error: `endpoint "${name}" exists` }, 409);
  return c.json(await getEndpoint(c.env.DB, name), 201);
});

adminApi.get("/endpoints/:name", validate("param", NameParam, issueList), async (c) => {
  const row = await getEndpoint(c.env.DB, c.req.valid("param").name);
  return row ? c.json(row) : c.json({ error: "no such endpoint" }, 404);
});

/**
 * Partial update: given fields replace the stored ones (texts merge key by key). The merged
 * result is validated as a whole, so defaults never overwrite what was not sent.
 */
adminApi.patch("/endpoints/:name", validate("param", NameParam, issueList), validate("json", z.record(z.string(), z.unknown()), issueList), async (c) => {
  const { name } = c.req.valid("param");
  const row = await getEndpoint(c.env.DB, name);
  if (!row) return c.json({ error: "no such endpoint" }, 404);
  const patch = c.req.valid("json");
  const texts = typeof patch.texts === "object" && patch.texts !== null ? { ...row.settings.texts, ...patch.texts } : patch.texts;
  const merged = EndpointSettingsSchema.strict().safeParse({ ...row.settings, ...patch, ...(texts !== undefined ? { texts } : {}) });
  if (!merged.success) return invalidRequest(c, merged.error, "json");
  await c.env.DB.batch([
    updateEndpointStatement(c.env.DB, name, merged.data, Date.now()),
    auditStatement(c, "endpoint.update", { endpoint: name, detail: patch }),
  ]);
  return c.json(await getEndpoint(c.env.DB, name));
});

adminApi.delete("/endpoints/:name", validate("param", NameParam, issueList), async (c) => {
  const { name } = c.req.valid("param");
  const [, deleted] = await c.env.DB.batch([...deleteEndpointStatements(c.env.DB, name), auditStatement(c, "endpoint.delete", { endpoint: name })]);
  if (deleted!.meta.changes !== 1) return c.json({ error: "no such endpoint" }, 404);
  return c.body(null, 204);
});

// ---- API tokens --------------------------------------------------------------------------

/** The secret: 256 random bits, shown once. Stored only as SHA-256. */
async function newSecret(): Promise<{ secret: string; sha256: string }> {
  const secret = randomToken(32);
  return { secret, sha256: await sha256Hex(secret) };
}

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
    if (!(await getEndpoint(c.env.DB, endpoint))) return c.json({ error: "no such endpoint" }, 404);
    const body = c.req.valid("json");
    const { secret, sha256 } = await newSecret();
    const id = crypto.randomUUID();
    await c.env.DB.batch([
      insertTokenStatement(c.env.DB, { id, endpoint, name: body.name, sha256, expires: body.expires ?? null, created_at: Date.now() }),
      auditStatement(c, "token.create", { endpoint, detail: { id, name: body.name, expires: body.expires ?? null } }),
    ]);
    return c.json({ id, endpoint, name: body.name, expires: body.expires ?? null, secret }, 201);
  },
);

adminApi.delete("/endpoints/:name/tokens/:id", validate("param", TokenParam, issueList), async (c) => {
  const { name, id } = c.req.valid("param");
  const [revoked] = await c.env.DB.batch([
    revokeTokenStatement(c.env.DB, name, id, Date.now()),
    auditStatement(c, "token.revoke", { endpoint: name, detail: { id } }),
  ]);
  if (revoked!.meta.changes !== 1) return c.json({ error: "no such active token" }, 404);
  return c.body(null, 204);
});

adminApi.post("/endpoints/:name/tokens/:id/regenerate", validate("param", TokenParam, issueList), async (c) => {
  const { name, id } = c.req.valid("param");
  const { secret, sha256 } = await newSecret();
  const [replaced] = await c.env.DB.batch([
    replaceTokenHashStatement(c.env.DB, name, id, sha256),
    auditStatement(c, "token.regenerate", { endpoint: name, detail: { id } }),
  ]);
  if (replaced!.meta.changes !== 1) return c.json({ error: "no such active token" }, 404);
  return c.json({ id, endpoint: name, secret });
});

// ---- subscribers -------------------------------------------------------------------------

/** The number's activated app devices (one per number, like Mideye+) and on-prem token. */
adminApi.get("/subscribers/:msisdn", validate("param", MsisdnParam, issueList), async (c) => {
  const { msisdn } = c.req.valid("param");
  const subscriber = c.env.SUBSCRIBER.getByName(msisdn);
  const device = await subscriber.device();
  return c.json({
    msisdn,
    totp: await subscriber.hasTotpToken(),
    devices: device ? [{ id: device.deviceId, push: device.push, activatedAt: new Date(device.activatedAt).toISOString() }] : [],
  });
});

/** Revokes an app device: no more pushes to it, its offline codes stop working. */
adminApi.delete(
  "/subscribers/:msisdn/devices/:deviceId",
  validate("param", MsisdnParam.extend({ deviceId: z.string().min(1).max(64) }), issueList),
  async (c) => {
    const { msisdn, deviceId } = c.req.valid("param");
    if (!(await c.env.SUBSCRIBER.getByName(msisdn).forgetDevice(deviceId))) return c.json({ error: "no such device" }, 404);
    await auditAfter(c, "device.revoke", { msisdn: maskMsisdn(msisdn), detail: { deviceId } });
    return c.body(null, 204);
  },
);

/** An imported seed must be one the TOTP check can use (otplib throws outside 16-64 bytes). */
const Base32 = z
  .string()
  .regex(/^[A-Z2-7]{1,128}=*$/, "secret must be base32 (A-Z, 2-7)")
  .refine(
    (s) => {
      try {
        return isUsableSeedLength(seedFromBase32(s).length);
      } catch {
        return false; // not a whole number of base32 groups
      }
    },
    `secret must decode to ${MIN_SEED_BYTES}-${MAX_SEED_BYTES} bytes (26-103 base32 characters)`,
  );

/**
 * Enrolls an on-prem TOTP token for a number: a new seed is generated (or an existing
 * hardware token's seed imported) and stored encrypted. The seed is returned once, with an
 * otpauth:// URI for authenticator apps; it cannot be read back later.
 */
adminApi.put("/subscribers/:msisdn/totp", validate("param", MsisdnParam, issueList), validate("json", z.object({ secret: Base32.optional() }).strict(), issueList), async (c) => {
  const { msisdn } = c.req.valid("param");
  const secret = c.req.valid("json").secret ?? generateSecret();
  await c.env.SUBSCRIBER.getByName(msisdn).setTotpToken(await sealSeed(seedKeyFromEnv(c.env), seedFromBase32(secret), totpTokenContext(msisdn)));
  await auditAfter(c, "totp.enroll", { msisdn: maskMsisdn(msisdn) });
  return c.json({ msisdn, secret, uri: generateURI({ issuer: "Edge MFA", label: msisdn, secret }) }, 201);
});

adminApi.delete("/subscribers/:msisdn/totp", validate("param", MsisdnParam, issueList), async (c) => {
  const { msisdn } = c.req.valid("param");
  if (!(await c.env.SUBSCRIBER.getByName(msisdn).removeTotpToken())) return c.json({ error: "no TOTP token enrolled" }, 404);
  await auditAfter(c, "totp.remove", { msisdn: maskMsisdn(msisdn) });
  return c.body(null, 204);
});

// ---- audit log ---------------------------------------------------------------------------

const AuditQuerySchema = z.object({
  kind: z.enum(["auth", "admin"]).optional(),
  endpoint: z.string().regex(ENDPOINT_NAME).optional(),
  since: z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)).optional(),
  until: z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)).optional(),
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
    const pins = await listPins(c.env.DB, { ...(q.endpoint ? { endpoint: q.endpoint } : {}), pendingOnly: q.pending === "true", limit: q.limit });
    return c.json({ pins: pins.map(pinView) });
  },
);

adminApi.get("/relay-pins/:endpoint/:username", validate("param", PinParam, issueList), async (c) => {
  const { endpoint, username } = c.req.valid("param");
  const pin = await getPin(c.env.DB, endpoint, username);
  return pin ? c.json(pinView(pin)) : c.json({ error: "no pin for this user" }, 404);
});

/**
 * Confirms the pending number: it becomes the pinned one. With {"msisdn"}, only if that is
 * the pending number (so a number that replaced the one the operator checked is not confirmed).
 */
adminApi.post(
  "/relay-pins/:endpoint/:username/confirm",
  validate("param", PinParam, issueList),
  validate("json", z.object({ msisdn: MsisdnSchema.optional() }).strict(), issueList),
  async (c) => {
    const { endpoint, username } = c.req.valid("param");
    const { msisdn } = c.req.valid("json");
    const pin = await getPin(c.env.DB, endpoint, username);
    if (!pin?.pending_msisdn) return c.json({ error: "no pending number change for this user" }, 409);
    if (msisdn && msisdn !== pin.pending_msisdn) return c.json({ error: "the pending number is not the one given" }, 409);
    const expected = msisdn ?? pin.pending_msisdn;
    const applied = await applyPending(c.env.DB, endpoint, username, { expected }, Date.now(), {
      actor: c.get("admin"),
      action: "relay_pin.confirm",
      msisdnMasked: maskMsisdn(expected),
      detail: { username, previous: maskMsisdn(pin.msisdn) },
    });
    return applied ? c.json(pinView(applied)) : c.json({ error: "the pending number changed meanwhile; look again" }, 409);
  },
);

adminApi.delete("/relay-pins/:endpoint/:username/pending", validate("param", PinParam, issueList), async (c) => {
  const { endpoint, username } = c.req.valid("param");
  const pin = await getPin(c.env.DB, endpoint, username);
  const ok = await cancelPending(c.env.DB, endpoint, username, Date.now(), {
    actor: c.get("admin"),
    action: "relay_pin.cancel_change",
    msisdnMasked: pin?.pending_msisdn ? maskMsisdn(pin.pending_msisdn) : "",
    detail: { username },
  });
  return ok ? c.body(null, 204) : c.json({ error: "no pending number change for this user" }, 404);
});

/** Removes the pin: the next login pins whatever number the directory reports then. */
adminApi.delete("/relay-pins/:endpoint/:username", validate("param", PinParam, issueList), async (c) => {
  const { endpoint, username } = c.req.valid("param");
  const pin = await getPin(c.env.DB, endpoint, username);
  const ok = await removePin(c.env.DB, endpoint, username, Date.now(), {
    actor: c.get("admin"),
    action: "relay_pin.remove",
    msisdnMasked: pin ? maskMsisdn(pin.msisdn) : "",
    detail: { username },
  });
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
