import { Hono, type Context } from "hono";
import type { z } from "zod";
import type { Endpoint, Relay } from "../config/schema";
import { loadConfig } from "../config/load";
import { authenticate } from "../domain/authenticate";
import { checkChallengeResponse, checkTotpCode, offlineAuditRows, offlineFactors } from "../domain/offline-check";
import { authenticateRelayCall, claimRelayCall } from "../domain/relay-calls";
import { issueRelayChallenge, redeemRelayChallenge } from "../domain/relay-challenges";
import { openRelayLink } from "../domain/relay-link";
import { startSmsOtp, verifySmsOtp } from "../domain/sms-otp";
import { AuthQuerySchema } from "../../core/contracts/magic-link";
import { maskMsisdn } from "../../core/msisdn";
import { isTransientPlatformError } from "../lib/platform-errors";
import { EDGE_UNAVAILABLE_ERROR, EDGE_UNAVAILABLE_STATUS, NUMBER_CHANGED } from "../../core/contracts/relay";
import { RELAY_API_BASE, RELAY_CALLS, WhoSchema, type RelayAnswer, type RelayCall } from "../../core/contracts/relay-api";
import { RELAY_LINK_PATH } from "../../core/contracts/relay-link";
import type { OfflineCheck } from "../objects/subscriber/contract";
import { publicBaseUrl, recordAuth } from "./respond";
import { invalidRequest, issueList, validate } from "./validate";
import { log } from "../lib/log";

/**
 * The edge API the on-prem RADIUS relay calls (JSON over HTTPS, ES256 JWT per relay), mounted
 * at RELAY_API_BASE; its paths and bodies are core/contracts/relay-api.ts. Touch runs the same
 * blocking session as the Magic Link API; SMS OTP and TOTP codes are generated and checked
 * here, so no OTP secret ever lives on-prem.
 */
type Vars = { relay: Relay; endpoint: Endpoint; started: number };
type RelayEnv = { Bindings: Env; Variables: Vars };
export const relayApi = new Hono<RelayEnv>();

/** Each call by its full path (what the relay token is bound to). */
const CALL_BY_PATH = new Map<string, RelayCall>(Object.values(RELAY_CALLS).map((call) => [`${RELAY_API_BASE}${call.path}`, call]));

relayApi.use(async (c, next) => {
  const config = loadConfig(c.env);
  const body = c.req.method === "GET" ? "" : await c.req.raw.clone().text();
  // The token must be for this edge: its public origin when configured, else the one called.
  const audience = c.env.PUBLIC_BASE_URL ? new URL(c.env.PUBLIC_BASE_URL).origin : new URL(c.req.url).origin;
  const auth = await authenticateRelayCall(c.env, config, {
    authorization: c.req.header("authorization"),
    method: c.req.method,
    path: c.req.path,
    body,
    audience,
  });
  if (auth.kind === "unauthorized") {
    log.warn("relay_auth_failed", { reason: auth.reason });
    return c.json({ error: "unauthorized", reason: auth.reason }, 401);
  }
  if (auth.kind === "endpoint_missing") return c.json({ error: `relay endpoint "${auth.endpoint}" is not configured` }, 500);

  // Calls that name a user: each is checked against the number pinned for the user first.
  const call = CALL_BY_PATH.get(c.req.path);
  let who: z.output<typeof WhoSchema> | null = null;
  if (call?.namesUser) {
    const parsed = WhoSchema.safeParse(safeJson(body));
    if (!parsed.success) return invalidRequest(c, parsed.error, "json");
    who = parsed.data;
  }
  const claim = await claimRelayCall(c.env, (p) => c.executionCtx.waitUntil(p), auth.caller, who);
  if (claim === "replayed") {
    log.warn("relay_auth_failed", { reason: "replayed token" });
    return c.json({ error: "unauthorized", reason: "replayed token" }, 401);
  }
  c.set("started", Date.now());
  c.set("relay", auth.caller.relay);
  c.set("endpoint", auth.caller.endpoint);
  if (claim === "number_changed" && call && who) {
    record(c, call.path.slice(1).replaceAll("/", "-"), who.msisdn, NUMBER_CHANGED);
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

/**
 * The relay link (core/contracts/relay-link.ts): the relay's WebSocket, authenticated above
 * like every call (token bound to GET and this path, single use), handed to its site's
 * RelayLink object. The edge asks questions over it; the relay asks nothing.
 */
relayApi.get(RELAY_LINK_PATH.slice(RELAY_API_BASE.length), async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return c.json({ error: "websocket upgrade required" }, 426);
  log.info("relay_link_upgrade", { relay: c.get("relay").name });
  return openRelayLink(c.env, c.get("relay"));
});

relayApi.post(RELAY_CALLS.touch.path, validate("json", RELAY_CALLS.touch.request, issueList), async (c) => {
  const body = c.req.valid("json");
  const q = AuthQuerySchema.parse({
    msisdn: body.msisdn,
    ...(body.timeoutSeconds ? { "touch-timeout": String(body.timeoutSeconds) } : {}),
    ...(body.authenticationText ? { "authentication-text": body.authenticationText } : {}),
  });
  const outcome = await authenticate(c.env, loadConfig(c.env), c.get("endpoint"), q, publicBaseUrl(c));
  // The app device that answered, if one did (several devices per number).
  record(c, "touch", body.msisdn, outcome.code, outcome.code !== "BAD_REQUEST" && outcome.device ? { device: outcome.device } : {});
  if (outcome.code === "BAD_REQUEST") return c.json({ code: outcome.code, reason: outcome.reason });
  return c.json({ code: outcome.code } satisfies RelayAnswer<"touch">);
});

relayApi.post(RELAY_CALLS.smsOtp.path, validate("json", RELAY_CALLS.smsOtp.request, issueList), async (c) => {
  const { msisdn } = c.req.valid("json");
  const started = await startSmsOtp(c.env, c.get("endpoint"), msisdn);
  // The relay reads only `code` (core/contracts/relay-api.ts); `reason` is for people.
  switch (started.kind) {
    case "rate_limited":
      return c.json({ code: "BAD_REQUEST", reason: "rate_limited" });
    case "locked":
      record(c, "sms-otp", msisdn, "LOCKED");
      return c.json({ code: "BAD_REQUEST", reason: "locked" });
    case "failed_delivery":
      record(c, "sms-otp", msisdn, "FAILED_DELIVERY");
      return c.json({ code: "FAILED_DELIVERY" } satisfies RelayAnswer<"smsOtp">);
    case "sent":
      record(c, "sms-otp", msisdn, "SENT", { delivery: started.delivery });
      return c.json({ code: "SENT", challengeId: started.challengeId, delivery: started.delivery } satisfies RelayAnswer<"smsOtp">);
  }
});

relayApi.post(RELAY_CALLS.smsOtpVerify.path, validate("json", RELAY_CALLS.smsOtpVerify.request, issueList), async (c) => {
  const { msisdn, challengeId, code } = c.req.valid("json");
  const check = await verifySmsOtp(c.env, msisdn, challengeId, code);
  recordOffline(c, "sms-otp-verify", msisdn, check, "sms-otp-lockout");
  return c.json({ result: check.verdict } satisfies RelayAnswer<"smsOtpVerify">);
});

relayApi.post(RELAY_CALLS.totpVerify.path, validate("json", RELAY_CALLS.totpVerify.request, issueList), async (c) => {
  const { msisdn, code } = c.req.valid("json");
  const check = await checkTotpCode(c.env, "totp-verify", msisdn, code);
  recordOffline(c, "totp-verify", msisdn, check);
  return c.json({ result: check.verdict } satisfies RelayAnswer<"totpVerify">);
});

relayApi.post(
  RELAY_CALLS.challengeResponseVerify.path,
  validate("json", RELAY_CALLS.challengeResponseVerify.request, issueList),
  async (c) => {
    const { msisdn, challenge, code } = c.req.valid("json");
    const check = await checkChallengeResponse(c.env, "challenge-response-verify", msisdn, challenge, code);
    recordOffline(c, "challenge-response-verify", msisdn, check);
    // "locked" reads as a reject here, as before (the audit row keeps "locked").
    const verdict = check.verdict === "accept" ? "accept" : "reject";
    return c.json({ result: verdict } satisfies RelayAnswer<"challengeResponseVerify">);
  },
);

relayApi.post(RELAY_CALLS.subscriber.path, validate("json", RELAY_CALLS.subscriber.request, issueList), async (c) => {
  const { msisdn } = c.req.valid("json");
  return c.json((await offlineFactors(c.env, msisdn)) satisfies RelayAnswer<"subscriber">);
});

relayApi.post(RELAY_CALLS.challengeIssue.path, validate("json", RELAY_CALLS.challengeIssue.request, issueList), async (c) => {
  const state = await issueRelayChallenge(c.env, c.get("relay"), c.req.valid("json"));
  return c.json({ state } satisfies RelayAnswer<"challengeIssue">);
});

relayApi.post(RELAY_CALLS.challengeRedeem.path, validate("json", RELAY_CALLS.challengeRedeem.request, issueList), async (c) => {
  const { answer, issuedBy } = await redeemRelayChallenge(c.env, c.get("relay"), c.req.valid("json"));
  // A refused State is worth a line (a replay, another NAS or user, another site); never the State itself.
  if (answer.result === "ok") log.info("challenge_redeemed", { relay: c.get("relay").name, issuedBy, method: answer.challenge.method });
  else log.warn("challenge_refused", { relay: c.get("relay").name, reason: answer.result });
  return c.json(answer satisfies RelayAnswer<"challengeRedeem">);
});

/** An offline-code check's audit rows (plus the lockout alert row, if it started one). */
function recordOffline(c: Context<RelayEnv>, op: string, msisdn: string, check: OfflineCheck, lockoutChannel?: string) {
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
function record(c: Context<RelayEnv>, op: string, msisdn: string, result: string, extra: Record<string, unknown> = {}) {
  recordAuth(c, "relay", {
    endpoint: c.get("endpoint").name,
    msisdn: maskMsisdn(msisdn),
    channel: `radius-${op}`,
    result,
    latencyMs: Date.now() - c.get("started"),
    detail: { relay: c.get("relay").name, ...extra },
  });
}
