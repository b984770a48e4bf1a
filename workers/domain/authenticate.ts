import { DEFAULT_TEXTS, type Config, type Endpoint, type Texts } from "../config/schema";
import type { AuthQuery } from "../../core/contracts/magic-link";
import { codeForStatus, type BadRequestReason, type FinalStatus, type ResultCode, type SessionStatus } from "../../core/codes";
import { pickMatchNumber } from "../../core/number-match";
import { randomToken, sha256Hex } from "../../core/tokens";
import type { Channel, SessionAppOptions } from "../objects/auth-session/contract";
import { approverDirectory } from "./approvers";
import { retryWait, waitBackoffMs } from "../../core/wait-retry";
import { acquireLease } from "./overload";
import { log } from "../lib/log";
import { objectId, objectStub } from "../lib/durable-objects";

export type AuthOutcome =
  | { code: Exclude<ResultCode, "BAD_REQUEST">; sessionId: string; channel: Channel }
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

/** The endpoint's authenticator-app settings for one session. */
export function appOptions(endpoint: Endpoint, q: AuthQuery): SessionAppOptions {
  const callerNumber = q["match-number"];
  return {
    activation: endpoint.enableActivation,
    // Also on Assisted Login endpoints: the app has the approver pick, and approvers get pushes.
    push: endpoint.usePush ? { graceMs: endpoint.pushGraceSeconds * 1000 } : null,
    matchNumber: endpoint.numberMatching ? (callerNumber ?? pickMatchNumber()) : null,
    callerShowsNumber: callerNumber !== undefined,
  };
}

/**
 * One Magic Link authentication, start to finish: rate limit and per-number pending cap,
 * overload lease, session creation (which delivers push or SMS), then blocking until the
 * session reports its outcome. The result codes are the same whichever channel was used.
 */
export async function authenticate(env: Env, config: Config, endpoint: Endpoint, q: AuthQuery, publicOrigin: string): Promise<AuthOutcome> {
  const token = randomToken();
  const name = await sha256Hex(token);
  const sessionId = objectId(env, "AUTH_SESSION", name).toString();
  const timeoutMs = (q["touch-timeout"] ?? endpoint.timeoutSeconds) * 1000;
  const deadline = Date.now() + timeoutMs;

  const subscriber = objectStub(env, "SUBSCRIBER", q.msisdn);
  const limits = endpoint.rateLimit ?? config.rateLimit;
  const admitted = await subscriber.admit(limits, {
    session: name,
    until: deadline + LEASE_MARGIN_MS,
    cap: config.maxPendingPerMsisdn,
  });
  if (!admitted.allowed) return { code: "BAD_REQUEST", reason: admitted.reason, retryAfterMs: admitted.retryAfterMs };

  const leaseShard = await acquireLease(env, config.overload, sessionId, deadline + LEASE_MARGIN_MS);
  if (!leaseShard) {
    await subscriber.release(name);
    return { code: "BAD_REQUEST", reason: "overloaded" };
  }

  const texts = resolveTexts(endpoint, q);
  const link = `${publicOrigin}/m/${token}`;
  let initial: { status: SessionStatus; channel: Channel };
  try {
    const assisted = endpoint.assistedLogin
      ? { approvers: await approverDirectory(endpoint).list(endpoint), linkBase: publicOrigin }
      : null;
    initial = await objectStub(env, "AUTH_SESSION", name).start({
      name,
      msisdn: q.msisdn,
      endpoint: endpoint.name,
      texts,
      smsText: composeSms(texts.sms, link),
      link,
      timeoutMs,
      tombstoneMs: config.tombstoneSeconds * 1000,
      leaseShard,
      app: appOptions(endpoint, q),
      assisted,
    });
  } catch (e) {
    await objectStub(env, "LOAD_SHARD", leaseShard)
      .release(sessionId)
      .catch(() => {});
    await subscriber.release(name).catch(() => {});
    throw e;
  }
  // Delivery failures end the session inside start(); nothing to wait for.
  const status = initial.status === "pending" ? await waitForOutcome(env, name, deadline) : initial.status;
  return { code: codeForStatus(status), sessionId, channel: initial.channel };
}

/**
 * Waits on the session object. If the object is evicted or restarted mid-wait the call
 * fails; the state is in storage, so we call again (a fresh stub) while retryWait allows:
 * never on an overload, and not past what a relay waits for (wait-retry.ts).
 */
export async function waitForOutcome(env: Env, name: string, deadline: number): Promise<FinalStatus> {
  for (let attempt = 0; ; attempt++) {
    let status: FinalStatus | null;
    try {
      status = await objectStub(env, "AUTH_SESSION", name).wait();
    } catch (e) {
      if (!retryWait(e, Date.now(), deadline)) throw e;
      log.warn("session_wait_retry", { attempt, error: String(e) });
      await new Promise((r) => setTimeout(r, waitBackoffMs(attempt)));
      continue;
    }
    if (status === null) throw new Error(`session ${name.slice(0, 12)} vanished while awaited`);
    return status;
  }
}
