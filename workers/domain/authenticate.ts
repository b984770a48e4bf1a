import { DEFAULT_TEXTS, type Config, type Endpoint, type Texts } from "../config/schema";
import type { AuthQuery } from "../lib/auth-params";
import { codeForStatus, type BadRequestReason, type FinalStatus, type ResultCode, type SessionStatus } from "../lib/codes";
import { randomToken, sha256Hex } from "../lib/tokens";
import { acquireLease } from "./overload";

export type AuthOutcome =
  | { code: Exclude<ResultCode, "BAD_REQUEST">; sessionId: string }
  | { code: "BAD_REQUEST"; reason: BadRequestReason; retryAfterMs?: number };

/** How long past its deadline a lease may outlive a session that never released it. */
const LEASE_MARGIN_MS = 60_000;

/** Request texts override endpoint texts, which override the built-in defaults. */
export function resolveTexts(endpoint: Endpoint, q: AuthQuery): Texts {
  const base = { ...DEFAULT_TEXTS, ...endpoint.texts };
  return {
    sms: q["sms-text"] ?? base.sms,
    title: q["title-text"] ?? base.title,
    authentication: q["authentication-text"] ?? base.authentication,
    touchAccept: q["touch-accept-text"] ?? base.touchAccept,
    touchReject: q["touch-reject-text"] ?? base.touchReject,
    buttonAccept: q["button-accept-text"] ?? base.buttonAccept,
    buttonReject: q["button-reject-text"] ?? base.buttonReject,
  };
}

/** The SMS body: the text with the link appended, or put where the text says {link}. */
export function composeSms(text: string, link: string): string {
  return text.includes("{link}") ? text.replaceAll("{link}", link) : `${text}\n${link}`;
}

/**
 * One Magic Link authentication, start to finish: rate limit, overload lease, session
 * creation (which delivers the SMS), then blocking until the session reports its outcome.
 */
export async function authenticate(
  env: Env,
  config: Config,
  endpoint: Endpoint,
  q: AuthQuery,
  publicOrigin: string,
): Promise<AuthOutcome> {
  const limits = endpoint.rateLimit ?? config.rateLimit;
  const rate = await env.SUBSCRIBER.getByName(q.msisdn).admit(limits);
  if (!rate.allowed) return { code: "BAD_REQUEST", reason: "rate_limited", retryAfterMs: rate.retryAfterMs };

  const token = randomToken();
  const name = await sha256Hex(token);
  const sessionId = env.AUTH_SESSION.idFromName(name).toString();
  const timeoutMs = (q["touch-timeout"] ?? endpoint.timeoutSeconds) * 1000;
  const deadline = Date.now() + timeoutMs;

  const leaseShard = await acquireLease(env.LOAD_SHARD, config.overload, sessionId, deadline + LEASE_MARGIN_MS);
  if (!leaseShard) return { code: "BAD_REQUEST", reason: "overloaded" };

  const texts = resolveTexts(endpoint, q);
  const link = `${publicOrigin}/m/${token}`;
  let initial: SessionStatus;
  try {
    initial = await env.AUTH_SESSION.getByName(name).start({
      msisdn: q.msisdn,
      endpoint: endpoint.name,
      texts,
      smsText: composeSms(texts.sms, link),
      link,
      timeoutMs,
      tombstoneMs: config.tombstoneSeconds * 1000,
      leaseShard,
    });
  } catch (e) {
    await env.LOAD_SHARD.getByName(leaseShard).release(sessionId).catch(() => {});
    throw e;
  }
  // Delivery failures end the session inside start(); nothing to wait for.
  const status = initial === "pending" ? await waitForOutcome(env, name, deadline) : initial;
  return { code: codeForStatus(status), sessionId };
}

/**
 * Waits on the session object. If the object is evicted or restarted mid-wait the call
 * fails; the state is in storage, so we call again (a fresh stub) until it answers.
 */
export async function waitForOutcome(env: Env, name: string, deadline: number): Promise<FinalStatus> {
  for (let attempt = 0; ; attempt++) {
    let status: FinalStatus | null;
    try {
      status = await env.AUTH_SESSION.getByName(name).wait();
    } catch (e) {
      if (Date.now() > deadline + 30_000) throw e;
      console.warn(JSON.stringify({ event: "session_wait_retry", attempt, error: String(e) }));
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1000)));
      continue;
    }
    if (status === null) throw new Error(`session ${name.slice(0, 12)} vanished while awaited`);
    return status;
  }
}
