import { randomInt } from "node:crypto";
import { E164, NUMBER_CHANGED, normalizeUsername } from "../../core/contracts/relay.ts";
import type { NasIdentity } from "../../core/contracts/relay-challenge.ts";
import type { ChallengeStore, NewChallenge, RelayChallengeMethod } from "./challenge-store.ts";
import type { RelayConfig, SecondFactor, TotpSource } from "./config.ts";
import { EdgeRejectedError, EdgeUnavailableError, type EdgeApi, type Who } from "./edge-client.ts";
import { FirstFactorUnavailableError, type FirstFactor } from "./first-factor/types.ts";
import type { LocalTotpCheck } from "./local-totp/verifier.ts";
import type { ReplyCode } from "./radius/packet.ts";
import { TOUCH_REPLIES } from "./touch-replies.ts";

/**
 * What the relay answers to one Access-Request. Pure decision logic over injected
 * dependencies (first factor, edge API, challenge store), so every path is unit-testable
 * without sockets. The RADIUS layer turns a Decision into a signed packet.
 */
export interface AuthRequest {
  user: string;
  password: string;
  /** RADIUS State of a challenge response, if any. */
  state?: Buffer;
  /** The NAS's source IP address, for binding challenges. */
  source: string;
  /** NAS-Identifier and NAS-IP-Address of the request, when present (they bind challenges too). */
  nasIdentifier?: string;
  nasIpAddress?: string;
  clientSecondFactor?: SecondFactor;
  clientTotpSource?: TotpSource;
}

export interface Decision {
  code: ReplyCode;
  replyMessage?: string;
  state?: Buffer;
  /** For the auth log: why (never secret). */
  reason: string;
  method?: SecondFactor | "challenge-response";
}

export interface FlowDeps {
  config: Pick<RelayConfig, "failMode" | "secondFactor" | "touchTimeoutSeconds" | "users" | "usernameAsMsisdn" | "totpSource">;
  firstFactor: FirstFactor;
  edge: EdgeApi;
  /** The relay's own TOTP tokens (relay/src/local-totp/), when `localTokens` is configured. */
  localTotp?: LocalTotp;
  challenges: ChallengeStore;
  now: () => number;
  warn: (event: string, fields: Record<string, unknown>) => void;
}

/** Local TOTP tokens: checked on this host, without the edge. */
export interface LocalTotp {
  has(username: string): boolean;
  verify(username: string, code: string, now: () => number): Promise<LocalTotpCheck>;
}

const PROMPT_SMS = "Enter the code sent to your phone by SMS";
/** The code went to the user's authenticator app by push; the SMS follows if the app does not confirm it. */
const PROMPT_APP_OR_SMS = "Enter the code shown in your authenticator app or sent by SMS";
const PROMPT_TOTP = "Enter the code from your authenticator app";

/**
 * The number that proves this user: the operator's `users` map first (it is authoritative),
 * then the directory; the username itself only when the operator opted in and the user is
 * known (the directory vouched for them, or they are in the map). The edge then checks the
 * number against the one pinned for the user.
 */
export function phoneNumberFor(
  user: string,
  fromDirectory: string | undefined,
  config: Pick<RelayConfig, "users" | "usernameAsMsisdn">,
  directoryVouches: boolean,
): string | undefined {
  const userCfg = config.users[normalizeUsername(user)];
  const known = directoryVouches || userCfg !== undefined;
  const candidates = [userCfg?.msisdn, fromDirectory, config.usernameAsMsisdn && known ? user : undefined];
  return candidates.find((m): m is string => m !== undefined && E164.test(m));
}

/** Which NAS sent the request: what a challenge is bound to (core/contracts/relay-challenge.ts). */
export function nasOf(req: Pick<AuthRequest, "source" | "nasIdentifier" | "nasIpAddress">): NasIdentity {
  return {
    address: req.source,
    ...(req.nasIdentifier !== undefined ? { identifier: req.nasIdentifier } : {}),
    ...(req.nasIpAddress !== undefined ? { ipAddress: req.nasIpAddress } : {}),
  };
}

export async function decide(req: AuthRequest, deps: FlowDeps): Promise<Decision> {
  if (req.state) return answerChallenge(req, req.state, deps);

  let msisdnFromDirectory: string | undefined;
  // The directory's name of the account when it gives one, else the name typed: the user's key.
  let account = req.user;
  try {
    const ff = await deps.firstFactor.verify(req.user, req.password);
    if (!ff.ok) return { code: "Access-Reject", reason: `first factor: ${ff.reason}` };
    msisdnFromDirectory = ff.msisdn;
    account = ff.user ?? req.user;
  } catch (e) {
    // A first-factor outage never lets anyone in, whatever the fail mode.
    if (e instanceof FirstFactorUnavailableError) return { code: "Access-Reject", reason: e.message };
    throw e;
  }

  const username = normalizeUsername(account);
  const method = deps.config.users[username]?.secondFactor ?? req.clientSecondFactor ?? deps.config.secondFactor;
  // A local token proves the seed on this host, not a phone: no number needed, no edge call.
  if (method === "totp" && totpSourceFor(username, req, deps) === "local") {
    return { ...(await localTotpChallenge(username, req, deps, PROMPT_TOTP)), method };
  }
  const msisdn = phoneNumberFor(account, msisdnFromDirectory, deps.config, deps.firstFactor.vouchesForUser === true);
  if (!msisdn) return { code: "Access-Reject", reason: "no phone number for user" };

  try {
    return { ...(await secondFactor(method, { username, msisdn }, req, deps)), method };
  } catch (e) {
    // Touch-Plus / Touch-Mobile with the edge unreachable: the phone cannot be reached
    // either, so they fall back to the local token as they would to TOTP.
    if (e instanceof EdgeUnavailableError && isTouchWithFallback(method) && hasLocalToken(username, req, deps)) {
      deps.warn("edge_unavailable", { fallback: "local-totp", error: e.message });
      return { ...(await localTotpChallenge(username, req, deps, `Phone not reachable. ${PROMPT_TOTP}`)), method };
    }
    return edgeFailure(deps, e, method);
  }
}

/** Where this user's TOTP codes are checked: user setting, else the client's, else the top level. */
function totpSourceFor(username: string, req: AuthRequest, deps: FlowDeps): "local" | "edge" {
  const source = deps.config.users[username]?.totpSource ?? req.clientTotpSource ?? deps.config.totpSource;
  if (source === "both") return deps.localTotp?.has(username) ? "local" : "edge";
  return source;
}

function hasLocalToken(username: string, req: AuthRequest, deps: FlowDeps): boolean {
  return totpSourceFor(username, req, deps) === "local" && deps.localTotp?.has(username) === true;
}

function isTouchWithFallback(method: SecondFactor): boolean {
  return method === "touch-plus" || method === "touch-mobile";
}

async function localTotpChallenge(username: string, req: AuthRequest, deps: FlowDeps, prompt: string): Promise<Decision> {
  if (!deps.localTotp?.has(username)) return { code: "Access-Reject", reason: "no local TOTP token enrolled" };
  return challenge(deps, req, { username, msisdn: "" }, "local-totp", prompt);
}

async function secondFactor(method: SecondFactor, who: Who, req: AuthRequest, deps: FlowDeps): Promise<Decision> {
  switch (method) {
    case "sms":
      return smsChallenge(who, req, deps);
    case "totp":
      return (await deps.edge.hasTotp(who))
        ? challenge(deps, req, who, "totp", PROMPT_TOTP)
        : { code: "Access-Reject", reason: "no TOTP token enrolled" };
    default: {
      const outcome = TOUCH_REPLIES[await deps.edge.touch(who, deps.config.touchTimeoutSeconds)];
      if (outcome.kind === "fallback") return touchFallback(method, who, req, deps);
      return { code: outcome.code, reason: outcome.reason, ...(outcome.replyMessage ? { replyMessage: outcome.replyMessage } : {}) };
    }
  }
}

/**
 * Phone not reachable for Touch: type 7 falls back to offline codes, type 8 to SMS OTP first.
 * Offline: with the app, "Phone not reachable, please sign <challenge>" (the app signs it
 * without any network); else the code of an enrolled TOTP token.
 */
async function touchFallback(method: SecondFactor, who: Who, req: AuthRequest, deps: FlowDeps): Promise<Decision> {
  if (method === "touch-mobile") {
    const sms = await smsChallenge(who, req, deps);
    if (sms.code === "Access-Challenge") return sms;
  }
  if (isTouchWithFallback(method)) {
    if (await deps.edge.hasApp(who)) {
      const code = randomInt(0, 1_000_000).toString().padStart(6, "0");
      return challenge(deps, req, who, "challenge-response", `Phone not reachable, please sign ${code}`, { challenge: code });
    }
    if (totpSourceFor(who.username, req, deps) === "local") {
      if (deps.localTotp?.has(who.username)) return localTotpChallenge(who.username, req, deps, `Phone not reachable. ${PROMPT_TOTP}`);
    } else if (await deps.edge.hasTotp(who)) return challenge(deps, req, who, "totp", `Phone not reachable. ${PROMPT_TOTP}`);
  }
  return { code: "Access-Reject", reason: "touch delivery failed, no fallback" };
}

async function smsChallenge(who: Who, req: AuthRequest, deps: FlowDeps): Promise<Decision> {
  const r = await deps.edge.startSmsOtp(who);
  if (r.code !== "SENT") return { code: "Access-Reject", reason: `sms otp: ${r.code}` };
  const prompt = r.delivery === "app" ? PROMPT_APP_OR_SMS : PROMPT_SMS;
  return challenge(deps, req, who, "sms", prompt, { challengeId: r.challengeId });
}

async function challenge(
  deps: FlowDeps,
  req: AuthRequest,
  who: Who,
  method: RelayChallengeMethod,
  prompt: string,
  extra: Pick<NewChallenge, "challengeId" | "challenge"> = {},
): Promise<Decision> {
  const state = await deps.challenges.issue(
    { user: req.user, username: who.username, nas: nasOf(req), msisdn: who.msisdn, method, ...extra },
    deps.now(),
  );
  return { code: "Access-Challenge", state, replyMessage: prompt, reason: `challenge: ${method}` };
}

async function answerChallenge(req: AuthRequest, state: Buffer, deps: FlowDeps): Promise<Decision> {
  const r = await deps.challenges.redeem(state, req.user, nasOf(req), deps.now());
  // A State the edge could not be asked about is refused whatever the fail mode: nothing says
  // it ever passed a first factor (the answer carries a code, not the password).
  if (!r.ok) return { code: "Access-Reject", reason: `challenge state ${r.reason}`, method: "challenge-response" };
  const c = r.challenge;
  if (c.method === "local-totp") return localTotpAnswer(c.username, req.password, deps);
  const who = { username: c.username, msisdn: c.msisdn };
  try {
    const verdict =
      c.method === "sms"
        ? await deps.edge.verifySmsOtp(who, c.challengeId!, req.password)
        : c.method === "challenge-response"
          ? await deps.edge.verifyChallengeResponse(who, c.challenge!, req.password)
          : await deps.edge.verifyTotp(who, req.password);
    return verdict === "accept"
      ? { code: "Access-Accept", reason: `${c.method} code accepted`, method: "challenge-response" }
      : {
          code: "Access-Reject",
          reason: `${c.method} code ${verdict}`,
          replyMessage: "Wrong or expired code",
          method: "challenge-response",
        };
  } catch (e) {
    return edgeFailure(deps, e, "challenge-response", "code check");
  }
}

const WRONG_CODE = "Wrong or expired code";

/** The answer to a local TOTP challenge: checked against the local store, no edge call. */
async function localTotpAnswer(username: string, code: string, deps: FlowDeps): Promise<Decision> {
  const method = "challenge-response";
  if (!deps.localTotp) return { code: "Access-Reject", reason: "local TOTP not configured", method };
  let r: LocalTotpCheck;
  try {
    r = await deps.localTotp.verify(username, code, deps.now);
  } catch (e) {
    // A seed that does not open (tampered or moved row, another key file): a fault to see.
    deps.warn("local_totp_error", { username, error: e instanceof Error ? e.message : String(e) });
    return { code: "Access-Reject", reason: "local-totp token unusable", replyMessage: WRONG_CODE, method };
  }
  if (r.verdict === "accept") return { code: "Access-Accept", reason: "local-totp code accepted", method };
  if (r.lockedUntil !== undefined && r.verdict !== "locked") {
    deps.warn("local_totp_locked", { username, lockedUntil: new Date(r.lockedUntil).toISOString() });
  }
  return {
    code: "Access-Reject",
    reason: `local-totp code ${r.verdict}`,
    replyMessage: r.verdict === "locked" ? "Too many wrong codes; try again later" : WRONG_CODE,
    method,
  };
}

/**
 * An edge call failed. Only "unavailable" (transport failure or the edge's explicit 503)
 * lets the fail mode decide; a refusal always rejects, with the edge's reason in the log.
 * `step` "code check": the call was to check a code typed into a challenge, which an
 * unreachable edge rejects in either fail mode. A code nobody could check proves nothing, and
 * otherwise cutting the relay's path to the edge after the challenge would turn any typed code
 * into an Access-Accept. (Elsewhere, Touch included, "safe" still accepts on an unreachable
 * edge right after the first factor: the documented trade-off of that mode.)
 */
function edgeFailure(deps: FlowDeps, e: unknown, method: Decision["method"], step?: "code check"): Decision {
  if (e instanceof EdgeRejectedError) {
    if (e.code === NUMBER_CHANGED) {
      return {
        code: "Access-Reject",
        reason: NUMBER_CHANGED,
        replyMessage: "Your phone number changed; ask your help desk to confirm it",
        method,
      };
    }
    return { code: "Access-Reject", reason: `edge refused: ${e.message}`, method };
  }
  if (!(e instanceof EdgeUnavailableError)) throw e;
  deps.warn("edge_unavailable", { failMode: deps.config.failMode, error: e.message, ...(step ? { step } : {}) });
  if (step === "code check") {
    return { code: "Access-Reject", reason: `edge unavailable, code not checked: ${e.message}`, replyMessage: "Try again", method };
  }
  return deps.config.failMode === "safe"
    ? { code: "Access-Accept", reason: `edge unavailable, fail mode safe: ${e.message}`, method }
    : { code: "Access-Reject", reason: `edge unavailable, fail mode secure: ${e.message}`, method };
}
