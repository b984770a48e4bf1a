import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { ENDPOINT_NAME, EndpointSettingsSchema } from "../config/schema";
import { loadConfig } from "../config/load";
import { AdminConfigError, adminFromRequest } from "../lib/admin-auth";
import { tokenStatus } from "../lib/api-keys";
import { MsisdnSchema } from "../../core/contracts/magic-link";
import { strictBase32Seed } from "../../core/seed-input";
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
import { UsernameSchema } from "../../core/contracts/relay-api";
import { invalidRequest, issueList } from "./validate";
import { jsonBody, jsonResponse, serve } from "./openapi-route";
import { ADMIN_SECURITY, bodyTooLargeResponse, errorResponse, invalidBodyResponse, invalidRequestResponse } from "./openapi-common";
import {
  ApiTokenListSchema,
  AuditPageSchema,
  CreatedApiTokenSchema,
  LocksClearedSchema,
  RegeneratedApiTokenSchema,
  RelayPinListSchema,
  RelayPinSchema,
  SubscriberSchema,
  TotpEnrolledSchema,
  endpointRowSchema,
} from "../../core/contracts/admin-api";
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
export const adminApi = new OpenAPIHono<AdminEnv>();

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

const NameParam = z.object({
  name: z.string().regex(ENDPOINT_NAME, "endpoint names are 1-64 of A-Z a-z 0-9 . _ -").meta({ example: "webshop" }),
});
const TokenParam = NameParam.extend({ id: z.string().min(1).max(64) });
const MsisdnParam = z.object({ msisdn: MsisdnSchema });
const ExpiryDate = z.iso.date("expires must be a date, YYYY-MM-DD (last valid day, UTC)");

/** What every admin call may answer besides its own answers (the bearer check above, bad input). */
const refusals = {
  400: invalidRequestResponse,
  401: errorResponse("No valid admin token."),
  413: bodyTooLargeResponse,
  500: errorResponse("The admin tokens are misconfigured (ADMIN_TOKENS), or an internal error."),
};
/** The same for a call with a JSON body, which may also not be JSON at all. */
const bodyRefusals = { ...refusals, 400: invalidBodyResponse };
const notFound = (what: string) => errorResponse(`No such ${what}.`);
const deleted = { description: "Done (no content)." };
const op = <M extends "get" | "post" | "put" | "patch" | "delete", P extends string>(method: M, path: P, tag: string, summary: string) => ({
  method,
  path,
  tags: [`Admin: ${tag}`],
  summary,
  security: ADMIN_SECURITY,
});

const EndpointRowSchema = endpointRowSchema(EndpointSettingsSchema);

// ---- endpoints ---------------------------------------------------------------------------

const listEndpointsRoute = createRoute({
  ...op("get", "/endpoints", "endpoints", "List endpoints (operator-managed, and MFA_CONFIG's read-only)"),
  responses: {
    200: jsonResponse(
      z.object({
        endpoints: z.array(EndpointRowSchema.extend({ source: z.literal("admin") })),
        static: z.array(
          EndpointSettingsSchema.extend({
            name: z.string(),
            /** How many keys MFA_CONFIG holds for it (never the hashes). */
            apiKeys: z.number().int(),
            source: z.literal("config"),
          }),
        ),
      }),
      "Endpoints from D1 (`endpoints`) and from MFA_CONFIG (`static`, read-only: change them in the deployment config).",
    ),
    ...refusals,
  },
});
serve(adminApi, listEndpointsRoute, issueList, async (c) => {
  const config = loadConfig(c.env);
  return c.json(
    {
      endpoints: (await listEndpoints(c.env.DB)).map((e) => ({ ...e, source: "admin" as const })),
      // Endpoints from MFA_CONFIG are read-only here (change them in the deployment config).
      static: config.endpoints.map(({ apiKeys, ...e }) => ({ ...e, apiKeys: apiKeys.length, source: "config" as const })),
    },
    200,
  );
});

const createEndpointRoute = createRoute({
  ...op("post", "/endpoints", "endpoints", "Create an endpoint"),
  request: {
    body: jsonBody(
      EndpointSettingsSchema.extend({ name: NameParam.shape.name }).strict(),
      "Its name and settings (defaults for the rest).",
    ),
  },
  responses: {
    201: jsonResponse(EndpointRowSchema, "Created."),
    409: errorResponse("The name is taken (in D1 or MFA_CONFIG), or it was deleted meanwhile."),
    ...bodyRefusals,
  },
});
serve(adminApi, createEndpointRoute, issueList, async (c) => {
  const { name, ...settings } = c.req.valid("json");
  const created = await createEndpoint(c.env, c.get("admin"), name, settings);
  if (created.kind === "in_config") return c.json({ error: `endpoint "${name}" is defined in MFA_CONFIG` }, 409);
  if (created.kind === "exists") return c.json({ error: `endpoint "${name}" exists` }, 409);
  if (!created.row) return c.json({ error: `endpoint "${name}" was deleted meanwhile` }, 409);
  return c.json(created.row, 201);
});

const getEndpointRoute = createRoute({
  ...op("get", "/endpoints/{name}", "endpoints", "Show an operator-managed endpoint"),
  request: { params: NameParam },
  responses: { 200: jsonResponse(EndpointRowSchema, "The endpoint."), 404: notFound("endpoint"), ...refusals },
});
serve(adminApi, getEndpointRoute, issueList, async (c) => {
  const row = await getEndpoint(c.env.DB, c.req.valid("param").name);
  return row ? c.json(row, 200) : c.json({ error: "no such endpoint" }, 404);
});

/** Partial update (see updateEndpoint): a merged result that does not validate is a 400. */
const updateEndpointRoute = createRoute({
  ...op("patch", "/endpoints/{name}", "endpoints", "Change some of an endpoint's settings"),
  request: {
    params: NameParam,
    body: jsonBody(
      z
        .record(z.string(), z.unknown())
        .meta({ description: "Settings to change (EndpointSettings fields); the merged result must validate." }),
    ),
  },
  responses: { 200: jsonResponse(EndpointRowSchema, "The endpoint as changed."), 404: notFound("endpoint"), ...bodyRefusals },
});
serve(adminApi, updateEndpointRoute, issueList, async (c) => {
  const updated = await updateEndpoint(c.env, c.get("admin"), c.req.valid("param").name, c.req.valid("json"));
  if (updated.kind === "invalid") return invalidRequest(c, updated.error, "json");
  // Deleted meanwhile: as not found.
  if (updated.kind === "not_found" || !updated.row) return c.json({ error: "no such endpoint" }, 404);
  return c.json(updated.row, 200);
});

const deleteEndpointRoute = createRoute({
  ...op("delete", "/endpoints/{name}", "endpoints", "Delete an endpoint and its API tokens"),
  request: { params: NameParam },
  responses: { 204: deleted, 404: notFound("endpoint"), ...refusals },
});
serve(adminApi, deleteEndpointRoute, issueList, async (c) => {
  if (!(await deleteEndpoint(c.env, c.get("admin"), c.req.valid("param").name))) return c.json({ error: "no such endpoint" }, 404);
  return c.body(null, 204);
});

// ---- API tokens --------------------------------------------------------------------------

const tokenView = (t: Awaited<ReturnType<typeof listTokens>>[number], now: number) => ({ ...t, status: tokenStatus(t, now) });

const listTokensRoute = createRoute({
  ...op("get", "/endpoints/{name}/tokens", "API tokens", "List an endpoint's API tokens (never their secrets)"),
  request: { params: NameParam },
  responses: { 200: jsonResponse(ApiTokenListSchema, "The tokens, oldest first."), 404: notFound("endpoint"), ...refusals },
});
serve(adminApi, listTokensRoute, issueList, async (c) => {
  const { name } = c.req.valid("param");
  if (!(await getEndpoint(c.env.DB, name))) return c.json({ error: "no such endpoint" }, 404);
  const now = Date.now();
  return c.json({ tokens: (await listTokens(c.env.DB, name)).map((t) => tokenView(t, now)) }, 200);
});

const createTokenRoute = createRoute({
  ...op("post", "/endpoints/{name}/tokens", "API tokens", "Create an API token (its secret is answered once)"),
  request: {
    params: NameParam,
    body: jsonBody(z.object({ name: z.string().min(1).max(100), expires: ExpiryDate.optional() }).strict()),
  },
  responses: {
    201: jsonResponse(CreatedApiTokenSchema, "Created: `secret` is the API key, shown this once."),
    404: notFound("endpoint"),
    ...bodyRefusals,
  },
});
serve(adminApi, createTokenRoute, issueList, async (c) => {
  const endpoint = c.req.valid("param").name;
  const body = c.req.valid("json");
  const token = { name: body.name, expires: body.expires ?? null };
  const created = await createApiToken(c.env, c.get("admin"), endpoint, token);
  if (!created) return c.json({ error: "no such endpoint" }, 404);
  return c.json({ id: created.id, endpoint, ...token, secret: created.secret }, 201);
});

const revokeTokenRoute = createRoute({
  ...op("delete", "/endpoints/{name}/tokens/{id}", "API tokens", "Revoke an API token"),
  request: { params: TokenParam },
  responses: { 204: deleted, 404: notFound("active token"), ...refusals },
});
serve(adminApi, revokeTokenRoute, issueList, async (c) => {
  const { name, id } = c.req.valid("param");
  if (!(await revokeApiToken(c.env, c.get("admin"), name, id))) return c.json({ error: "no such active token" }, 404);
  return c.body(null, 204);
});

const regenerateTokenRoute = createRoute({
  ...op("post", "/endpoints/{name}/tokens/{id}/regenerate", "API tokens", "Give an API token a new secret (the old one stops working)"),
  request: { params: TokenParam },
  responses: {
    200: jsonResponse(RegeneratedApiTokenSchema, "The new secret, shown this once."),
    404: notFound("active token"),
    ...refusals,
  },
});
serve(adminApi, regenerateTokenRoute, issueList, async (c) => {
  const { name, id } = c.req.valid("param");
  const regenerated = await regenerateApiToken(c.env, c.get("admin"), name, id);
  if (!regenerated) return c.json({ error: "no such active token" }, 404);
  return c.json({ id, endpoint: name, secret: regenerated.secret }, 200);
});

// ---- subscribers -------------------------------------------------------------------------

/** The number's activated app devices (phone, tablet, ...), its on-prem token and lockouts. */
const subscriberRoute = createRoute({
  ...op("get", "/subscribers/{msisdn}", "subscribers", "A number's app devices, on-prem TOTP token and wrong-code lockouts"),
  request: { params: MsisdnParam },
  responses: { 200: jsonResponse(SubscriberSchema, "The number's state (an unknown number has none of it)."), ...refusals },
});
serve(adminApi, subscriberRoute, issueList, async (c) => {
  const { msisdn } = c.req.valid("param");
  const { devices, totp, locks } = await subscriberSummary(c.env, msisdn);
  const lock = (l: LockView) => ({
    failures: l.failures,
    lockedUntil: l.lockedUntil === null ? null : new Date(l.lockedUntil).toISOString(),
  });
  return c.json(
    {
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
    },
    200,
  );
});

/** Revokes one app device of the number: no more pushes to it, its offline codes stop working; the others keep working. */
const revokeDeviceRoute = createRoute({
  ...op("delete", "/subscribers/{msisdn}/devices/{deviceId}", "subscribers", "Revoke one app device of the number"),
  request: { params: MsisdnParam.extend({ deviceId: z.string().min(1).max(64) }) },
  responses: { 204: deleted, 404: notFound("device"), ...refusals },
});
serve(adminApi, revokeDeviceRoute, issueList, async (c) => {
  const { msisdn, deviceId } = c.req.valid("param");
  if (!(await revokeDevice(c.env, c.get("admin"), msisdn, deviceId))) return c.json({ error: "no such device" }, 404);
  return c.body(null, 204);
});

/**
 * Lifts the number's wrong-code lockouts: `kind` offline (TOTP and signed challenges), sms-otp,
 * or all (the default). Answers which ones held anything.
 */
const clearLocksRoute = createRoute({
  ...op("delete", "/subscribers/{msisdn}/locks", "subscribers", "Lift the number's wrong-code lockouts (audited)"),
  request: { params: MsisdnParam, query: z.object({ kind: z.enum(["offline", "sms-otp", "all"]).default("all") }) },
  responses: { 200: jsonResponse(LocksClearedSchema, "The lockouts that held anything."), ...refusals },
});
serve(adminApi, clearLocksRoute, issueList, async (c) => {
  const { msisdn } = c.req.valid("param");
  const kind = c.req.valid("query").kind;
  const kinds: LockKindName[] = kind === "all" ? [...LOCK_KINDS] : [kind === "sms-otp" ? "smsOtp" : "offline"];
  const cleared = await clearSubscriberLocks(c.env, c.get("admin"), msisdn, kinds);
  return c.json({ msisdn, cleared: cleared.map((k) => (k === "smsOtp" ? ("sms-otp" as const) : ("offline" as const))) }, 200);
});

/** An imported seed, exactly as base32 (the console also tolerates spaces and lower case). */
const Base32 = strictBase32Seed("secret");

/** Enrolls an on-prem TOTP token for a number (see enrollTotpToken): its seed is answered once. */
const enrollTotpRoute = createRoute({
  ...op("put", "/subscribers/{msisdn}/totp", "subscribers", "Enroll an on-prem TOTP token (a new seed, or an imported one)"),
  request: {
    params: MsisdnParam,
    body: jsonBody(z.object({ secret: Base32.optional() }).strict(), "{} for a new seed, or a hardware token's Base32 secret."),
  },
  responses: { 201: jsonResponse(TotpEnrolledSchema, "Enrolled: the seed and its otpauth:// URI, shown this once."), ...bodyRefusals },
});
serve(adminApi, enrollTotpRoute, issueList, async (c) => {
  const { msisdn } = c.req.valid("param");
  const { secret, uri } = await enrollTotpToken(c.env, c.get("admin"), msisdn, c.req.valid("json").secret);
  return c.json({ msisdn, secret, uri }, 201);
});

const removeTotpRoute = createRoute({
  ...op("delete", "/subscribers/{msisdn}/totp", "subscribers", "Remove the number's on-prem TOTP token"),
  request: { params: MsisdnParam },
  responses: { 204: deleted, 404: errorResponse("No TOTP token enrolled."), ...refusals },
});
serve(adminApi, removeTotpRoute, issueList, async (c) => {
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

const auditRoute = createRoute({
  ...op("get", "/audit", "audit", "Authentications and admin actions, newest first"),
  request: { query: AuditQuerySchema },
  responses: { 200: jsonResponse(AuditPageSchema, "One page; `next` is the `before` of the next one."), ...refusals },
});
serve(adminApi, auditRoute, issueList, async (c) => {
  const q = c.req.valid("query");
  const { entries, next } = await queryAudit(c.env.DB, q);
  return c.json({ entries: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })), next }, 200);
});

// ---- RADIUS number pins ------------------------------------------------------------------

const PinParam = z.object({
  endpoint: z.string().regex(ENDPOINT_NAME),
  username: UsernameSchema,
});

/** Pins with their pending changes; `pending=true` lists only users awaiting confirmation. */
const listPinsRoute = createRoute({
  ...op("get", "/relay-pins", "relay pins", "The numbers pinned per relay endpoint and username"),
  request: {
    query: z.object({
      endpoint: z.string().regex(ENDPOINT_NAME).optional(),
      pending: z.enum(["true", "false"]).default("false"),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: { 200: jsonResponse(RelayPinListSchema, "The pins (with `pending=true`: only users awaiting confirmation)."), ...refusals },
});
serve(adminApi, listPinsRoute, issueList, async (c) => {
  const q = c.req.valid("query");
  const pins = await listPins(c.env.DB, {
    ...(q.endpoint ? { endpoint: q.endpoint } : {}),
    pendingOnly: q.pending === "true",
    limit: q.limit,
  });
  return c.json({ pins: pins.map(pinView) }, 200);
});

const getPinRoute = createRoute({
  ...op("get", "/relay-pins/{endpoint}/{username}", "relay pins", "One user's pinned number"),
  request: { params: PinParam },
  responses: { 200: jsonResponse(RelayPinSchema, "The pin."), 404: errorResponse("No pin for this user."), ...refusals },
});
serve(adminApi, getPinRoute, issueList, async (c) => {
  const { endpoint, username } = c.req.valid("param");
  const pin = await getPin(c.env.DB, endpoint, username);
  return pin ? c.json(pinView(pin), 200) : c.json({ error: "no pin for this user" }, 404);
});

/** Confirms the pending number (see confirmPinChange); with {"msisdn"}, only if that is the pending one. */
const confirmPinRoute = createRoute({
  ...op("post", "/relay-pins/{endpoint}/{username}/confirm", "relay pins", "Confirm the user's pending number change"),
  request: {
    params: PinParam,
    body: jsonBody(z.object({ msisdn: MsisdnSchema.optional() }).strict(), "{} or the pending number, to be sure."),
  },
  responses: {
    200: jsonResponse(RelayPinSchema, "The pin with its new number."),
    409: errorResponse("No pending change, not that number, or it changed meanwhile."),
    ...bodyRefusals,
  },
});
serve(adminApi, confirmPinRoute, issueList, async (c) => {
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
      return c.json(pinView(confirmed.pin), 200);
  }
});

const cancelPinChangeRoute = createRoute({
  ...op("delete", "/relay-pins/{endpoint}/{username}/pending", "relay pins", "Refuse the user's pending number change"),
  request: { params: PinParam },
  responses: { 204: deleted, 404: errorResponse("No pending number change for this user."), ...refusals },
});
serve(adminApi, cancelPinChangeRoute, issueList, async (c) => {
  const { endpoint, username } = c.req.valid("param");
  const ok = await cancelPinChange(c.env, c.get("admin"), endpoint, username);
  return ok ? c.body(null, 204) : c.json({ error: "no pending number change for this user" }, 404);
});

/** Removes the pin: the next login pins whatever number the directory reports then. */
const removePinRoute = createRoute({
  ...op("delete", "/relay-pins/{endpoint}/{username}", "relay pins", "Remove the pin (the next login pins the directory's number)"),
  request: { params: PinParam },
  responses: { 204: deleted, 404: errorResponse("No pin for this user."), ...refusals },
});
serve(adminApi, removePinRoute, issueList, async (c) => {
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
