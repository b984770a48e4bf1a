import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { z } from "zod";
import type { Endpoint, Relay } from "../config/schema";
import { loadConfig } from "../config/load";
import { checkChallengeResponse, checkTotpCode, offlineAuditRows, offlineFactors } from "../domain/offline-check";
import { authenticateRelayCall, claimRelayCall } from "../domain/relay-calls";
import { issueRelayChallenge, redeemRelayChallenge } from "../domain/relay-challenges";
import { openRelayLink } from "../domain/relay-link";
import { startSmsOtp, verifySmsOtp } from "../domain/sms-otp";
import { runRelayTouch } from "../domain/relay-touch";
import { type TouchBatchRun, runTouchBatch } from "../domain/touch-batch";
import { ndjsonResponse } from "../lib/ndjson-stream";
import { maskMsisdn } from "../../core/msisdn";
import { isTransientPlatformError } from "../lib/platform-errors";
import { EDGE_UNAVAILABLE_ERROR, EDGE_UNAVAILABLE_STATUS, NUMBER_CHANGED } from "../../core/contracts/relay";
import {
  EdgeUnavailableSchema,
  NumberChangedSchema,
  RELAY_API_BASE,
  RELAY_CALLS,
  RelayUnauthorizedSchema,
  TOUCH_BATCH,
  WhoSchema,
  type RelayAnswer,
  type RelayCall,
  type TouchBatchLine,
} from "../../core/contracts/relay-api";
import { RELAY_LINK_PATH } from "../../core/contracts/relay-link";
import type { OfflineCheck } from "../objects/subscriber/contract";
import { publicBaseUrl, recordAuth } from "./respond";
import { invalidRequest, issueList } from "./validate";
import { jsonBody, jsonResponse, serve } from "./openapi-route";
import { RELAY_SECURITY, bodyTooLargeResponse, errorResponse, invalidBodyResponse } from "./openapi-common";
import { log } from "../lib/log";

/**
 * The edge API the on-prem RADIUS relay calls (JSON over HTTPS, ES256 JWT per relay), mounted
 * at RELAY_API_BASE; its paths and bodies are core/contracts/relay-api.ts. Touch runs the same
 * blocking session as the Magic Link API; SMS OTP and TOTP codes are generated and checked
 * here, so no OTP secret ever lives on-prem.
 */
type Vars = { relay: Relay; endpoint: Endpoint; started: number };
type RelayEnv = { Bindings: Env; Variables: Vars };
export const relayApi = new OpenAPIHono<RelayEnv>();

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
  // A batched Touch (TOUCH_BATCH, not one of RELAY_CALLS) names several users: its route checks each login.
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

/** What every relay call may answer besides its own answer (from the middleware above). */
const refusals = {
  400: invalidBodyResponse,
  401: jsonResponse(
    RelayUnauthorizedSchema,
    "No valid relay token (missing, bad signature, wrong audience, method, path or body, expired, or used before).",
  ),
  500: errorResponse("The relay's endpoint is not configured at the edge."),
  413: bodyTooLargeResponse,
  503: jsonResponse(EdgeUnavailableSchema, "A transient fault of the platform: the one answer that lets the relay apply its fail mode."),
};
/** Calls that name the user are checked against the number pinned for them first. */
const userRefusals = {
  ...refusals,
  409: jsonResponse(NumberChangedSchema, "The number is not the one pinned for this user: an operator must confirm it."),
};
const call = <P extends string>(path: P, summary: string) => ({
  method: "post" as const,
  path,
  tags: ["Relay"],
  summary,
  security: RELAY_SECURITY,
});
// A call that names the user: its body as the relay sends it is the call's fields and the user's (WhoSchema).

/**
 * The relay link (core/contracts/relay-link.ts): the relay's WebSocket, authenticated above
 * like every call (token bound to GET and this path, single use), handed to its site's
 * RelayLink object. The edge asks questions over it; the relay asks nothing.
 */
const linkRoute = createRoute({
  method: "get",
  path: RELAY_LINK_PATH.slice(RELAY_API_BASE.length),
  tags: ["Relay"],
  summary: "Open the relay link (WebSocket)",
  description:
    "With `Upgrade: websocket` and a relay token bound to GET, this path and an empty body. The frames and operations are " +
    "core/contracts/relay-link.ts (docs/api.md#relay-link).",
  security: RELAY_SECURITY,
  responses: {
    101: { description: "Switching protocols: the relay link is open." },
    401: refusals[401],
    426: errorResponse("A valid token without the WebSocket upgrade."),
    500: refusals[500],
  },
});
serve(relayApi, linkRoute, issueList, async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return c.json({ error: "websocket upgrade required" }, 426);
  log.info("relay_link_upgrade", { relay: c.get("relay").name });
  return openRelayLink(c.env, c.get("relay"));
});

const touchRoute = createRoute({
  ...call(RELAY_CALLS.touch.path, "Touch: the Magic Link flow for a RADIUS login (blocks until the user answers)"),
  request: { body: jsonBody(RELAY_CALLS.touch.request.extend(WhoSchema.shape)) },
  responses: { 200: jsonResponse(RELAY_CALLS.touch.answer, "The session's result code (BAD_REQUEST with a reason)."), ...userRefusals },
});
serve(relayApi, touchRoute, issueList, async (c) => {
  const body = c.req.valid("json");
  const touched = await runRelayTouch(c.env, loadConfig(c.env), c.get("endpoint"), body, publicBaseUrl(c), (work) =>
    c.executionCtx.waitUntil(work),
  );
  record(c, "touch", body.msisdn, touched.result, touched.detail);
  return c.json(touched.answer satisfies RelayAnswer<"touch">, 200);
});

/**
 * Several Touch logins in one signed call (TOUCH_BATCH): the middleware above checked the
 * token against the whole body and claimed it once; each login is pin-checked, run and
 * recorded as the single Touch call is (workers/domain/touch-batch.ts), and answered by its
 * own NDJSON line as soon as its user decides.
 */
const touchBatchRoute = createRoute({
  ...call(TOUCH_BATCH.path, "Touch for several logins in one call (NDJSON: a line per login as each user decides)"),
  request: { body: jsonBody(TOUCH_BATCH.request) },
  responses: {
    200: {
      description:
        "One line per login (`i`: its index in `logins`), written as that login is decided; the body ends after the last. " +
        "A login's own refusal is its line's `error`.",
      content: { [TOUCH_BATCH.contentType]: { schema: TOUCH_BATCH.line } },
    },
    ...refusals,
  },
});
serve(relayApi, touchBatchRoute, issueList, (c) => {
  const { logins } = c.req.valid("json");
  const run = {
    env: c.env,
    config: loadConfig(c.env),
    endpoint: c.get("endpoint"),
    relay: c.get("relay").name,
    publicOrigin: publicBaseUrl(c),
    waitUntil: (p: Promise<unknown>) => c.executionCtx.waitUntil(p),
    record: (msisdn: string, result: string, detail?: Record<string, unknown>) => record(c, "touch", msisdn, result, detail),
  } satisfies TouchBatchRun;
  const streamed = ndjsonResponse<TouchBatchLine>(TOUCH_BATCH.contentType, run.waitUntil, (emit) => runTouchBatch(run, logins, emit));
  // @hono/zod-openapi reads any "application/…json…" media type as JSON and finds no typed form
  // for x-ndjson (never): the streamed body's lines are typed by ndjsonResponse<TouchBatchLine> instead.
  return streamed as never;
});

const smsOtpRoute = createRoute({
  ...call(RELAY_CALLS.smsOtp.path, "Send a one-time code (by push to the app first, else by SMS)"),
  request: { body: jsonBody(RELAY_CALLS.smsOtp.request.extend(WhoSchema.shape)) },
  responses: { 200: jsonResponse(RELAY_CALLS.smsOtp.answer, "SENT with the challenge id, or why not."), ...userRefusals },
});
serve(relayApi, smsOtpRoute, issueList, async (c) => {
  const { msisdn } = c.req.valid("json");
  const started = await startSmsOtp(c.env, c.get("endpoint"), msisdn);
  // The relay reads only `code` (core/contracts/relay-api.ts); `reason` is for people.
  switch (started.kind) {
    case "rate_limited":
      return c.json({ code: "BAD_REQUEST", reason: "rate_limited" } satisfies RelayAnswer<"smsOtp">, 200);
    case "locked":
      record(c, "sms-otp", msisdn, "LOCKED");
      return c.json({ code: "BAD_REQUEST", reason: "locked" } satisfies RelayAnswer<"smsOtp">, 200);
    case "failed_delivery":
      record(c, "sms-otp", msisdn, "FAILED_DELIVERY");
      return c.json({ code: "FAILED_DELIVERY" } satisfies RelayAnswer<"smsOtp">, 200);
    case "sent":
      record(c, "sms-otp", msisdn, "SENT", { delivery: started.delivery });
      return c.json({ code: "SENT", challengeId: started.challengeId, delivery: started.delivery } satisfies RelayAnswer<"smsOtp">, 200);
  }
});

const smsOtpVerifyRoute = createRoute({
  ...call(RELAY_CALLS.smsOtpVerify.path, "Check the code the user typed against an SMS OTP challenge"),
  request: { body: jsonBody(RELAY_CALLS.smsOtpVerify.request) },
  responses: { 200: jsonResponse(RELAY_CALLS.smsOtpVerify.answer, "The verdict."), ...refusals },
});
serve(relayApi, smsOtpVerifyRoute, issueList, async (c) => {
  const { msisdn, challengeId, code } = c.req.valid("json");
  const check = await verifySmsOtp(c.env, msisdn, challengeId, code);
  recordOffline(c, "sms-otp-verify", msisdn, check, "sms-otp-lockout");
  return c.json({ result: check.verdict } satisfies RelayAnswer<"smsOtpVerify">, 200);
});

const totpVerifyRoute = createRoute({
  ...call(RELAY_CALLS.totpVerify.path, "Check a TOTP code (the app's, or an enrolled on-prem token's)"),
  request: { body: jsonBody(RELAY_CALLS.totpVerify.request.extend(WhoSchema.shape)) },
  responses: { 200: jsonResponse(RELAY_CALLS.totpVerify.answer, "The verdict."), ...userRefusals },
});
serve(relayApi, totpVerifyRoute, issueList, async (c) => {
  const { msisdn, code } = c.req.valid("json");
  const check = await checkTotpCode(c.env, "totp-verify", msisdn, code);
  recordOffline(c, "totp-verify", msisdn, check);
  return c.json({ result: check.verdict } satisfies RelayAnswer<"totpVerify">, 200);
});

const challengeResponseVerifyRoute = createRoute({
  ...call(RELAY_CALLS.challengeResponseVerify.path, "Check the app's offline signature of a challenge the relay showed"),
  request: { body: jsonBody(RELAY_CALLS.challengeResponseVerify.request.extend(WhoSchema.shape)) },
  responses: { 200: jsonResponse(RELAY_CALLS.challengeResponseVerify.answer, "The verdict (locked reads as reject)."), ...userRefusals },
});
serve(relayApi, challengeResponseVerifyRoute, issueList, async (c) => {
  const { msisdn, challenge, code } = c.req.valid("json");
  const check = await checkChallengeResponse(c.env, "challenge-response-verify", msisdn, challenge, code);
  recordOffline(c, "challenge-response-verify", msisdn, check);
  // "locked" reads as a reject here, as before (the audit row keeps "locked").
  const verdict = check.verdict === "accept" ? "accept" : "reject";
  return c.json({ result: verdict } satisfies RelayAnswer<"challengeResponseVerify">, 200);
});

const subscriberRoute = createRoute({
  ...call(RELAY_CALLS.subscriber.path, "Which offline factors the number has"),
  request: { body: jsonBody(RELAY_CALLS.subscriber.request.extend(WhoSchema.shape)) },
  responses: {
    200: jsonResponse(RELAY_CALLS.subscriber.answer, "A TOTP code can be asked for; the app can sign a challenge."),
    ...userRefusals,
  },
});
serve(relayApi, subscriberRoute, issueList, async (c) => {
  const { msisdn } = c.req.valid("json");
  return c.json((await offlineFactors(c.env, msisdn)) satisfies RelayAnswer<"subscriber">, 200);
});

const challengeIssueRoute = createRoute({
  ...call(RELAY_CALLS.challengeIssue.path, "Keep a pending Access-Challenge for the relay's site"),
  request: { body: jsonBody(RELAY_CALLS.challengeIssue.request) },
  responses: { 200: jsonResponse(RELAY_CALLS.challengeIssue.answer, "The RADIUS State to send the NAS."), ...refusals },
});
serve(relayApi, challengeIssueRoute, issueList, async (c) => {
  const state = await issueRelayChallenge(c.env, c.get("relay"), c.req.valid("json"));
  return c.json({ state } satisfies RelayAnswer<"challengeIssue">, 200);
});

const challengeRedeemRoute = createRoute({
  ...call(RELAY_CALLS.challengeRedeem.path, "Consume a State: the challenge, or why it cannot be answered"),
  request: { body: jsonBody(RELAY_CALLS.challengeRedeem.request) },
  responses: {
    200: jsonResponse(RELAY_CALLS.challengeRedeem.answer, "ok with the challenge, or unknown, expired, mismatch."),
    ...refusals,
  },
});
serve(relayApi, challengeRedeemRoute, issueList, async (c) => {
  const { answer, issuedBy } = await redeemRelayChallenge(c.env, c.get("relay"), c.req.valid("json"));
  // A refused State is worth a line (a replay, another NAS or user, another site); never the State itself.
  if (answer.result === "ok") log.info("challenge_redeemed", { relay: c.get("relay").name, issuedBy, method: answer.challenge.method });
  else log.warn("challenge_refused", { relay: c.get("relay").name, reason: answer.result });
  return c.json(answer satisfies RelayAnswer<"challengeRedeem">, 200);
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
