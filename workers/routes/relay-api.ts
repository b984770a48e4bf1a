import { Hono, type Context } from "hono";
import { z } from "zod";
import type { Endpoint, Relay } from "../config/schema";
import { loadConfig } from "../config/load";
import { authenticate } from "../domain/authenticate";
import { offlineAuditRows, rejectOnError, REJECTED } from "../domain/offline-check";
import { AuthQuerySchema, MsisdnSchema } from "../../core/contracts/magic-link";
import { maskMsisdn } from "../../core/msisdn";
import { CHALLENGE_PATTERN, randomDigits } from "../../core/otp";
import { replayGuardName, verifyRelayRequest } from "../lib/relay-auth";
import { isTransientPlatformError } from "../lib/platform-errors";
import { checkPinnedNumber } from "../domain/number-pins";
import { EDGE_UNAVAILABLE_ERROR, EDGE_UNAVAILABLE_STATUS, NUMBER_CHANGED, USERNAME_MAX, normalizeUsername } from "../../core/contracts/relay";
import { smsProviderFromEnv } from "../sms/from-env";
import { resolveEndpoint } from "../store/endpoints";
import type { OfflineCheck } from "../objects/subscriber/contract";
import { recordAuth } from "./respond";
import { invalidRequest, validated } from "./validate";
import { log } from "../lib/log";

/**
 * The edge API the on-prem RADIUS relay calls (JSON over HTTPS, ES256 JWT per relay).
 * Touch runs the same blocking session as the Magic Link API; SMS OTP and TOTP codes are
 * generated and checked here, so no OTP secret ever lives on-prem.
 */
type Vars = { relay: Relay; endpoint: Endpoint; started: number };
export const relayApi = new Hono<{ Bindings: Env; Variables: Vars }>();

/** Calls that name a number: each is checked against the number pinned for the user first. */
const NUMBER_PATHS = new Set([
  "/api/relay/v1/touch",
  "/api/relay/v1/sms-otp",
  "/api/relay/v1/totp/verify",
  "/api/relay/v1/challenge-response/verify",
  "/api/relay/v1/subscriber",
]);
const WhoBody = z.object({
  username: z.string().max(USERNAME_MAX).transform(normalizeUsername).pipe(z.string().min(1, "username must not be empty")),
  msisdn: MsisdnSchema,
});

relayApi.use("/api/relay/v1/*", async (c, next) => {
  const config = loadConfig(c.env);
  const body = c.req.method === "GET" ? "" : await c.req.raw.clone().text();
  // The token must be for this edge: its public origin when configured, else the one called.
  const audience = c.env.PUBLIC_BASE_URL ? new URL(c.env.PUBLIC_BASE_URL).origin : new URL(c.req.url).origin;
  const auth = await verifyRelayRequest(config, c.req.header("authorization"), c.req.method, c.req.path, body, audience);
  if (!auth.ok) {
    log.warn("relay_auth_failed", { reason: auth.reason });
    return c.json({ error: "unauthorized", reason: auth.reason }, 401);
  }
  const endpoint = await resolveEndpoint(c.env.DB, config.endpoints, auth.relay.endpoint);
  if (!endpoint) return c.json({ error: `relay endpoint "${auth.relay.endpoint}" is not configured` }, 500);

  let who: z.output<typeof WhoBody> | null = null;
  if (NUMBER_PATHS.has(c.req.path)) {
    const parsed = WhoBody.safeParse(safeJson(body));
    if (!parsed.success) return invalidRequest(c, parsed.error, "json");
    who = parsed.data;
  }
  // The token's single use and the user's pinned number, checked side by side: one round trip.
  const [fresh, pin] = await Promise.all([
    c.env.RELAY_REPLAY.getByName(await replayGuardName(auth.relay.name, auth.jti)).claim(auth.jti, auth.expiresAt),
    who ? checkPinnedNumber(c.env, (p) => c.executionCtx.waitUntil(p), { endpoint, relay: auth.relay.name, ...who }) : null,
  ]);
  if (!fresh) {
    log.warn("relay_auth_failed", { reason: "replayed token" });
    return c.json({ error: "unauthorized", reason: "replayed token" }, 401);
  }
  c.set("started", Date.now());
  c.set("relay", auth.relay);
  c.set("endpoint", endpoint);
  if (pin && !pin.ok) {
    record(c, c.req.path.slice("/api/relay/v1/".length).replaceAll("/", "-"), who!.msisdn, NUMBER_CHANGED);
    return c.json({ error: NUMBER_CHANGED }, 409);
  }
  await next();
  // A transient fault of the platform itself (not an overload someone can cause) is the one
  // error the relay may treat as "edge unavailable"; everything else stays a refusal.
  if (c.error && isTransientPlatformError(c.error)) c.res = c.json({ error: EDGE_UNAVAILABLE_ERROR }, EDGE_UNAVAILABLE_STATUS);
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const TouchBody = z.object({
  msisdn: MsisdnSchema,
  /** RADIUS NAS waits are short: default to the endpoint's timeout, cap it by the API bounds. */
  timeoutSeconds: z.number().int().min(15).max(300).optional(),
  authenticationText: z.string().max(500).optional(),
});

relayApi.post("/api/relay/v1/touch", validated("json", TouchBody), async (c) => {
  const body = c.req.valid("json");
  const q = AuthQuerySchema.parse({
    msisdn: body.msisdn,
    ...(body.timeoutSeconds ? { "touch-timeout": String(body.timeoutSeconds) } : {}),
    ...(body.authenticationText ? { "authentication-text": body.authenticationText } : {}),
  });
  const origin = c.env.PUBLIC_BASE_URL?.replace(/\/$/, "") || new URL(c.req.url).origin;
  const outcome = await authenticate(c.env, loadConfig(c.env), c.get("endpoint"), q, origin);
  record(c, "touch", body.msisdn, outcome.code);
  return c.json(outcome.code === "BAD_REQUEST" ? { code: outcome.code, reason: outcome.reason } : { code: outcome.code });
});

const SMS_OTP_TTL_MS = 5 * 60_000;

relayApi.post("/api/relay/v1/sms-otp", validated("json", z.object({ msisdn: MsisdnSchema })), async (c) => {
  const { msisdn } = c.req.valid("json");
  const config = loadConfig(c.env);
  const subscriber = c.env.SUBSCRIBER.getByName(msisdn);
  const rate = await subscriber.admit(c.get("endpoint").rateLimit ?? config.rateLimit);
  if (!rate.allowed) return c.json({ code: "BAD_REQUEST", reason: "rate_limited" });
  const code = randomDigits(6);
  const challengeId = await subscriber.startSmsOtp(code, SMS_OTP_TTL_MS);
  if (challengeId === null) {
    // Too many wrong SMS codes lately: no SMS; the relay rejects (or falls back to offline codes).
    record(c, "sms-otp", msisdn, "LOCKED");
    return c.json({ code: "BAD_REQUEST", reason: "locked" });
  }
  try {
    await smsProviderFromEnv(c.env).send({ to: msisdn, text: `Your login code is ${code}`, link: "" });
  } catch (e) {
    await subscriber.cancelSmsOtp(challengeId);
    log.error("delivery_failed", { channel: "sms-otp", error: String(e) });
    record(c, "sms-otp", msisdn, "FAILED_DELIVERY");
    return c.json({ code: "FAILED_DELIVERY" });
  }
  record(c, "sms-otp", msisdn, "SENT");
  return c.json({ code: "SENT", challengeId });
});

const VerifyBody = z.object({ msisdn: MsisdnSchema, challengeId: z.string().min(1).max(64), code: z.string().max(32) });

relayApi.post("/api/relay/v1/sms-otp/verify", validated("json", VerifyBody), async (c) => {
  const { msisdn, challengeId, code } = c.req.valid("json");
  const check = await rejectOnError("sms-otp-verify", () => c.env.SUBSCRIBER.getByName(msisdn).checkSmsOtp(challengeId, code), REJECTED);
  recordOffline(c, "sms-otp-verify", msisdn, check, "sms-otp-lockout");
  return c.json({ result: check.verdict });
});

relayApi.post(
  "/api/relay/v1/totp/verify",
  validated("json", z.object({ msisdn: MsisdnSchema, code: z.string().max(32) })),
  async (c) => {
    const { msisdn, code } = c.req.valid("json");
    const check = await rejectOnError("totp-verify", () => c.env.SUBSCRIBER.getByName(msisdn).checkTotp(code), REJECTED);
    recordOffline(c, "totp-verify", msisdn, check);
    return c.json({ result: check.verdict });
  },
);

relayApi.post(
  "/api/relay/v1/challenge-response/verify",
  validated("json", z.object({ msisdn: MsisdnSchema, challenge: z.string().regex(CHALLENGE_PATTERN), code: z.string().max(16) })),
  async (c) => {
    const { msisdn, challenge, code } = c.req.valid("json");
    const check = await rejectOnError(
      "challenge-response-verify",
      () => c.env.SUBSCRIBER.getByName(msisdn).checkSignedChallenge(challenge, code),
      REJECTED,
    );
    recordOffline(c, "challenge-response-verify", msisdn, check);
    // "locked" reads as a reject here, as before (the audit row keeps "locked").
    const verdict = check.verdict === "accept" ? "accept" : "reject";
    return c.json({ result: verdict });
  },
);

relayApi.post("/api/relay/v1/subscriber", validated("json", z.object({ msisdn: MsisdnSchema })), async (c) => {
  const { msisdn } = c.req.valid("json");
  const subscriber = c.env.SUBSCRIBER.getByName(msisdn);
  // A TOTP code can be asked for when an operator enrolled a token or the app is activated;
  // a challenge to sign offline only when the app is.
  return c.json({ totp: await subscriber.hasOfflineCodes(), app: (await subscriber.device()) !== null });
});

/** An offline-code check's audit rows (plus the lockout alert row, if it started one). */
function recordOffline(c: Context<{ Bindings: Env; Variables: Vars }>, op: string, msisdn: string, check: OfflineCheck, lockoutChannel?: string) {
  const base = {
    endpoint: c.get("endpoint").name,
    msisdn,
    channel: `radius-${op}`,
    latencyMs: Date.now() - c.get("started"),
    detail: { relay: c.get("relay").name },
  };
  for (const row of offlineAuditRows(base, check, lockoutChannel)) recordAuth(c, "relay", row);
}

/** Log line plus audit row (channel "radius-<op>"), written after the response. */
function record(c: Context<{ Bindings: Env; Variables: Vars }>, op: string, msisdn: string, result: string) {
  recordAuth(c, "relay", {
    endpoint: c.get("endpoint").name,
    msisdn: maskMsisdn(msisdn),
    channel: `radius-${op}`,
    result,
    latencyMs: Date.now() - c.get("started"),
    detail: { relay: c.get("relay").name },
  });
}
