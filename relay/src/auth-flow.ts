import { randomInt } from "node:crypto";
import type { ChallengeMethod, ChallengeStore, PendingChallenge } from "./challenge-store.ts";
import type { RelayConfig, SecondFactor } from "./config.ts";
import { EdgeUnavailableError, type EdgeApi } from "./edge-client.ts";
import { FirstFactorUnavailableError, type FirstFactor } from "./first-factor/types.ts";
import type { ReplyCode } from "./radius/packet.ts";

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
  /** "ip:port" of the NAS, for binding challenges. */
  source: string;
  clientSecondFactor?: SecondFactor;
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
  config: Pick<RelayConfig, "failMode" | "secondFactor" | "touchTimeoutSeconds" | "users">;
  firstFactor: FirstFactor;
  edge: EdgeApi;
  challenges: ChallengeStore;
  now: () => number;
  warn: (event: string, fields: Record<string, unknown>) => void;
}

const E164 = /^\+[1-9]\d{6,14}$/;
const PROMPT_SMS = "Enter the code sent to your phone by SMS";
const PROMPT_TOTP = "Enter the code from your authenticator app";

export async function decide(req: AuthRequest, deps: FlowDeps): Promise<Decision> {
  if (req.state) return answerChallenge(req, deps);

  let msisdnFromDirectory: string | undefined;
  try {
    const ff = await deps.firstFactor.verify(req.user, req.password);
    if (!ff.ok) return { code: "Access-Reject", reason: `first factor: ${ff.reason}` };
    msisdnFromDirectory = ff.msisdn;
  } catch (e) {
    // A first-factor outage never lets anyone in, whatever the fail mode.
    if (e instanceof FirstFactorUnavailableError) return { code: "Access-Reject", reason: e.message };
    throw e;
  }

  const userCfg = deps.config.users[req.user];
  const msisdn = [msisdnFromDirectory, userCfg?.msisdn, req.user].find((m) => m && E164.test(m));
  if (!msisdn) return { code: "Access-Reject", reason: "no phone number for user" };
  const method = userCfg?.secondFactor ?? req.clientSecondFactor ?? deps.config.secondFactor;

  try {
    return { ...(await secondFactor(method, msisdn, req, deps)), method };
  } catch (e) {
    if (!(e instanceof EdgeUnavailableError)) throw e;
    return failMode(deps, e, method);
  }
}

async function secondFactor(method: SecondFactor, msisdn: string, req: AuthRequest, deps: FlowDeps): Promise<Decision> {
  switch (method) {
    case "sms":
      return smsChallenge(msisdn, req, deps);
    case "totp":
      return (await deps.edge.hasTotp(msisdn))
        ? challenge(deps, req, msisdn, "totp", PROMPT_TOTP)
        : { code: "Access-Reject", reason: "no TOTP token enrolled" };
    default: {
      const code = await deps.edge.touch(msisdn, deps.config.touchTimeoutSeconds);
      switch (code) {
        case "TOUCH_ACCEPTED":
          return { code: "Access-Accept", reason: "touch accepted" };
        case "TOUCH_REJECTED":
          return { code: "Access-Reject", reason: "touch rejected", replyMessage: "Login rejected on your phone" };
        case "USER_NOT_RESPONDED":
          return { code: "Access-Reject", reason: "touch timed out", replyMessage: "No answer from your phone" };
        case "BAD_REQUEST":
          return { code: "Access-Reject", reason: "edge refused (rate limit or overload)" };
        case "FAILED_DELIVERY":
          return touchFallback(method, msisdn, req, deps);
      }
    }
  }
}

/**
 * Phone not reachable for Touch: type 7 falls back to offline codes, type 8 to SMS OTP first.
 * Offline: with the app, "Phone not reachable, please sign <challenge>" (the app signs it
 * without any network); else the code of an enrolled TOTP token.
 */
async function touchFallback(method: SecondFactor, msisdn: string, req: AuthRequest, deps: FlowDeps): Promise<Decision> {
  if (method === "touch-mobile") {
    const sms = await smsChallenge(msisdn, req, deps);
    if (sms.code === "Access-Challenge") return sms;
  }
  if (method === "touch-plus" || method === "touch-mobile") {
    if (await deps.edge.hasApp(msisdn)) {
      const code = randomInt(0, 1_000_000).toString().padStart(6, "0");
      return challenge(deps, req, msisdn, "challenge-response", `Phone not reachable, please sign ${code}`, { challenge: code });
    }
    if (await deps.edge.hasTotp(msisdn)) return challenge(deps, req, msisdn, "totp", `Phone not reachable. ${PROMPT_TOTP}`);
  }
  return { code: "Access-Reject", reason: "touch delivery failed, no fallback" };
}

async function smsChallenge(msisdn: string, req: AuthRequest, deps: FlowDeps): Promise<Decision> {
  const r = await deps.edge.startSmsOtp(msisdn);
  if (r.code !== "SENT") return { code: "Access-Reject", reason: `sms otp: ${r.code}` };
  return challenge(deps, req, msisdn, "sms", PROMPT_SMS, { challengeId: r.challengeId });
}

function challenge(
  deps: FlowDeps,
  req: AuthRequest,
  msisdn: string,
  method: ChallengeMethod,
  prompt: string,
  extra: Pick<PendingChallenge, "challengeId" | "challenge"> = {},
): Decision {
  const state = deps.challenges.issue({ user: req.user, source: req.source, msisdn, method, ...extra }, deps.now());
  return { code: "Access-Challenge", state, replyMessage: prompt, reason: `challenge: ${method}` };
}

async function answerChallenge(req: AuthRequest, deps: FlowDeps): Promise<Decision> {
  const r = deps.challenges.redeem(req.state!, req.user, req.source, deps.now());
  if (!r.ok) return { code: "Access-Reject", reason: `challenge state ${r.reason}`, method: "challenge-response" };
  const c = r.challenge;
  try {
    const verdict =
      c.method === "sms"
        ? await deps.edge.verifySmsOtp(c.msisdn, c.challengeId!, req.password)
        : c.method === "challenge-response"
          ? await deps.edge.verifyChallengeResponse(c.msisdn, c.challenge!, req.password)
          : await deps.edge.verifyTotp(c.msisdn, req.password);
    return verdict === "accept"
      ? { code: "Access-Accept", reason: `${c.method} code accepted`, method: "challenge-response" }
      : { code: "Access-Reject", reason: `${c.method} code ${verdict}`, replyMessage: "Wrong or expired code", method: "challenge-response" };
  } catch (e) {
    if (!(e instanceof EdgeUnavailableError)) throw e;
    return failMode(deps, e, "challenge-response");
  }
}

function failMode(deps: FlowDeps, e: Error, method: Decision["method"]): Decision {
  deps.warn("edge_unavailable", { failMode: deps.config.failMode, error: e.message });
  return deps.config.failMode === "safe"
    ? { code: "Access-Accept", reason: `edge unavailable, fail mode safe: ${e.message}`, method }
    : { code: "Access-Reject", reason: `edge unavailable, fail mode secure: ${e.message}`, method };
}
