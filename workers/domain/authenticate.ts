import { DEFAULT_TEXTS, type Config, type Endpoint, type Texts } from "../config/schema";
import type { AuthQuery } from "../../core/contracts/magic-link";
import { codeForStatus, type BadRequestReason, type ResultCode, type SessionStatus } from "../../core/codes";
import { pickMatchNumber } from "../../core/number-match";
import { randomToken, sha256Hex } from "../../core/tokens";
import type { Approver, AssistedInit, Channel, SessionAppOptions, SessionInit, WaitOutcome } from "../objects/auth-session/contract";
import type { AdmitResult, SessionStartAnswer, SessionStartArgs } from "../objects/subscriber/contract";
import { ApproverDirectoryUnavailable, approverDirectory } from "./approvers";
import { retryWait, waitBackoffMs } from "../../core/wait-retry";
import { acquireLease, releaseLease } from "./overload";
import { queueRelease } from "./lease-releases";
import { type HeldLease, poolLease } from "./lease-pool";
import { pushConfigured } from "../config/app-secrets";
import { log } from "../lib/log";
import { objectStub, objectId } from "../lib/durable-objects";
import { outcomeOn, startAndOpenWait, waitOnSession } from "./session-wait";
import type { SessionAddress } from "./session-address";
import { E164 } from "../../core/contracts/relay";
import { type LinkKey, sealLinkToken } from "../../core/link-route";
import { linkKeyOrNull } from "../store/link-key";

export type AuthOutcome =
  /**
   * channel "none": nothing was sent (an Assisted Login whose approver directory could not be asked).
   * `device`: the authenticator app whose answer decided it, for the auth log and audit.
   */
  | { code: Exclude<ResultCode, "BAD_REQUEST">; sessionId: string; channel: Channel | "none"; device?: { id: string; name: string } }
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
    approval: { approval: endpoint.appApproval, fallback: endpoint.uvFallback },
  };
}

/**
 * The approvers of an Assisted Login (or reset) session: `approvers` is called only once the
 * call was admitted (rate limits, pending caps, overload), because it may ask a directory (a
 * relay over the link, Microsoft Graph).
 */
export type AssistedRequest = Omit<AssistedInit, "approvers"> & { approvers: () => Promise<Approver[]> };

/** A session to start: who, where, which texts, how long, and the Assisted Login approvers. */
export interface SessionRequest {
  msisdn: string;
  endpoint: Endpoint;
  texts: Texts;
  timeoutMs: number;
  app: SessionAppOptions;
  assisted: AssistedRequest | null;
  /** The async API: the AsyncAuth object the session tells its outcome (see async-auth.ts). */
  notify?: string;
}

export type SessionStart =
  | {
      kind: "started";
      address: SessionAddress;
      sessionId: string;
      status: SessionStatus;
      channel: Channel;
      deadline: number;
      /** The wait on it, opened with the start (`openWait`): its outcome comes on this socket. */
      wait?: WebSocket;
      /** Its overload lease, as taken: the waiting call keeps it for the next session (lease-pool.ts). */
      lease: HeldLease;
    }
  | { kind: "refused"; reason: BadRequestReason; retryAfterMs?: number }
  /** An approver directory that could not be asked, or lists no one with a number: nothing was sent. */
  | { kind: "no_approvers"; sessionId: string };

/**
 * Starts a session without waiting for it: the per-number rate limit and pending cap, the
 * overload lease, then the session (which delivers push or SMS). Used by the blocking Magic
 * Link call below, the async API and the password reset portal, which polls the outcome instead.
 *
 * A session is hosted by its number's Subscriber (docs/decisions/0022): one call admits and
 * starts it, and its link's token routes to that object. Assisted Login sessions (approvers
 * with links of their own) are each an AuthSession object, as all sessions were before.
 */
export async function startSession(
  env: Env,
  config: Config,
  r: SessionRequest,
  publicOrigin: string,
  options: { openWait?: boolean } = {},
): Promise<SessionStart> {
  if (r.assisted || !E164.test(r.msisdn)) return startOwnObject(env, config, r, publicOrigin);
  const key = await linkKeyOrNull(env.DB, (e) =>
    log.error("link_key_unavailable", { note: "session started in an object of its own", error: String(e) }),
  );
  if (!key) return startOwnObject(env, config, r, publicOrigin);
  const begin: Begin = options.openWait
    ? (args) => startAndOpenWait(env, r.msisdn, args)
    : async (args) => ({
        answer: await objectStub(env, "SUBSCRIBER", r.msisdn).startSession(args.limits, args.claim, args.init),
        socket: null,
      });
  return startHosted(env, config, r, publicOrigin, key, begin);
}

/**
 * How a hosted session is begun: by a call that starts it, or (`openWait`: the blocking call)
 * by one request that starts it and opens the wait on it, one round trip to the object fewer.
 */
type Begin = (args: SessionStartArgs) => Promise<{ answer: SessionStartAnswer; socket: WebSocket | null }>;

/** What a session is started with, wherever it lives. */
function sessionInit(config: Config, r: SessionRequest, name: string, link: string, lease: HeldLease, sessionId: string): SessionInit {
  return {
    name,
    msisdn: r.msisdn,
    endpoint: r.endpoint.name,
    texts: r.texts,
    smsText: composeSms(r.texts.sms, link),
    link,
    timeoutMs: r.timeoutMs,
    tombstoneMs: config.tombstoneSeconds * 1000,
    leaseShard: lease.shard,
    ...(lease.id !== sessionId ? { leaseId: lease.id } : {}),
    app: r.app,
    assisted: null,
    ...(r.notify ? { notify: r.notify } : {}),
  };
}

const refusal = (admitted: Extract<AdmitResult, { allowed: false }>): SessionStart => ({
  kind: "refused",
  reason: admitted.reason,
  ...(admitted.retryAfterMs !== undefined ? { retryAfterMs: admitted.retryAfterMs } : {}),
});

/**
 * The overload lease, then one call to the number's Subscriber that admits and starts the
 * session. A call its number refuses gives the lease back before it is answered.
 */
async function startHosted(
  env: Env,
  config: Config,
  r: SessionRequest,
  publicOrigin: string,
  key: LinkKey,
  begin: Begin,
): Promise<SessionStart> {
  const token = await sealLinkToken(key, r.msisdn);
  const name = await sha256Hex(token);
  const sessionId = objectId(env, "AUTH_SESSION", name).toString();
  const deadline = Date.now() + r.timeoutMs;
  const until = deadline + LEASE_MARGIN_MS;
  const lease = await acquireLease(env, config.overload, sessionId, until, { name: r.endpoint.name, maxPending: r.endpoint.maxPending });
  if ("refused" in lease) return { kind: "refused", reason: lease.refused };
  const giveBack = () => releaseLease(env, lease).catch(() => {});
  const claim = { session: name, until, cap: config.maxPendingPerMsisdn, push: r.app.push !== null && pushConfigured(env) };
  const init = sessionInit(config, r, name, `${publicOrigin}/m/${token}`, lease, sessionId);
  try {
    const { answer, socket } = await begin({ limits: r.endpoint.rateLimit ?? config.rateLimit, claim, init });
    const { admitted, started } = answer;
    if (!admitted.allowed) {
      await giveBack();
      return refusal(admitted);
    }
    if (!started) throw new Error("subscriber admitted the session but did not start it");
    const address = { name, host: r.msisdn };
    return {
      kind: "started",
      address,
      sessionId,
      status: started.status,
      channel: started.channel,
      deadline,
      ...(socket ? { wait: socket } : {}),
      lease,
    };
  } catch (e) {
    await giveBack();
    throw e;
  }
}

/** A session in an AuthSession object of its own (Assisted Login). */
async function startOwnObject(env: Env, config: Config, r: SessionRequest, publicOrigin: string): Promise<SessionStart> {
  const token = randomToken();
  const name = await sha256Hex(token);
  const sessionId = objectId(env, "AUTH_SESSION", name).toString();
  const deadline = Date.now() + r.timeoutMs;

  const subscriber = objectStub(env, "SUBSCRIBER", r.msisdn);
  const limits = r.endpoint.rateLimit ?? config.rateLimit;
  const until = deadline + LEASE_MARGIN_MS;
  const claim = { session: name, until, cap: config.maxPendingPerMsisdn, push: r.app.push !== null && pushConfigured(env) };
  const { admitted, lease } = await admitWithLease(
    subscriber.admit(limits, claim),
    acquireLease(env, config.overload, sessionId, until, { name: r.endpoint.name, maxPending: r.endpoint.maxPending }),
    { admission: () => subscriber.release(name), lease: (held) => releaseLease(env, held) },
  );
  if (!admitted.allowed) return refusal(admitted);
  if ("refused" in lease) return { kind: "refused", reason: lease.refused };
  const releaseAll = async () => {
    await releaseLease(env, lease).catch(() => {});
    await subscriber.release(name).catch(() => {});
  };

  const link = `${publicOrigin}/m/${token}`;
  try {
    let assisted: AssistedInit | null = null;
    if (r.assisted) {
      // A directory that cannot be asked (or lists no one with a number) ends the call before
      // the user is bothered with a sign-in that could not finish.
      const approvers = await r.assisted.approvers().catch((e: unknown) => {
        if (e instanceof ApproverDirectoryUnavailable) return [];
        throw e;
      });
      if (approvers.length === 0) {
        log.warn("assisted_login_no_approvers", { endpoint: r.endpoint.name, source: r.endpoint.assistedLogin?.source ?? "local" });
        await releaseAll();
        return { kind: "no_approvers", sessionId };
      }
      assisted = { ...r.assisted, approvers };
    }
    const initial = await objectStub(env, "AUTH_SESSION", name).start({
      ...sessionInit(config, r, name, link, lease, sessionId),
      ...(admitted.pushable === false ? { userPushable: false } : {}),
      assisted,
    });
    return { kind: "started", address: { name, host: null }, sessionId, status: initial.status, channel: initial.channel, deadline, lease };
  } catch (e) {
    await releaseAll();
    throw e;
  }
}

type Lease = Awaited<ReturnType<typeof acquireLease>>;

/**
 * The number's admission and an overload lease, asked together: one round trip before the
 * session starts, not two. What one side granted is given back (awaited) when the other
 * refused or failed, so a refused call holds a lease or a pending entry only for that moment.
 * Admission's refusal is the one reported when both refuse, as when it was asked first.
 */
async function admitWithLease(
  admission: Promise<AdmitResult>,
  leasing: Promise<Lease>,
  giveBack: { admission: () => Promise<void>; lease: (lease: HeldLease) => Promise<void> },
): Promise<{ admitted: AdmitResult; lease: Lease }> {
  const [a, l] = await Promise.allSettled([admission, leasing]);
  const admitted = a.status === "fulfilled" && a.value.allowed;
  const held = l.status === "fulfilled" && "shard" in l.value ? l.value : null;
  if (!admitted || held === null) {
    // Each also lapses on its own (deadline plus a margin) should giving it back fail.
    if (admitted) await giveBack.admission().catch(() => {});
    if (held !== null) await giveBack.lease(held).catch(() => {});
  }
  if (a.status === "rejected") throw a.reason;
  if (l.status === "rejected") throw l.reason;
  return { admitted: a.value, lease: l.value };
}

/**
 * The session a Magic Link call's parameters ask for (the blocking call and the async API alike).
 * `requesterUsernames`: who signs in, where the caller knows it (a relay Touch's username); the
 * Magic Link API knows only the number, so only the number rule keeps the user from approving.
 */
export function sessionRequestFor(
  env: Env,
  endpoint: Endpoint,
  q: AuthQuery,
  publicOrigin: string,
  requesterUsernames?: string[],
): SessionRequest {
  const assisted = endpoint.assistedLogin
    ? {
        approvers: () => approverDirectory(env, endpoint).list(endpoint),
        linkBase: publicOrigin,
        ...(requesterUsernames?.length ? { requesterUsernames } : {}),
      }
    : null;
  return {
    msisdn: q.msisdn,
    endpoint,
    texts: resolveTexts(endpoint, q),
    timeoutMs: (q["touch-timeout"] ?? endpoint.timeoutSeconds) * 1000,
    app: appOptions(endpoint, q),
    assisted,
  };
}

/** What a blocking authentication needs of its request besides its parameters. */
export interface AuthCall {
  /** Work to finish after the answer (the request's waitUntil): the session's lease given back. */
  background: (work: Promise<unknown>) => void;
  /** Who signs in, where the caller knows it (see sessionRequestFor). */
  requesterUsernames?: string[];
}

/**
 * One Magic Link authentication, start to finish: the session is started (startSession), then
 * we block until it reports its outcome. The result codes are the same whichever channel was used.
 */
export async function authenticate(
  env: Env,
  config: Config,
  endpoint: Endpoint,
  q: AuthQuery,
  publicOrigin: string,
  call: AuthCall,
): Promise<AuthOutcome> {
  const request = sessionRequestFor(env, endpoint, q, publicOrigin, call.requesterUsernames);
  const started = await startSession(env, config, request, publicOrigin, { openWait: true });
  if (started.kind === "no_approvers") return { code: "FAILED_DELIVERY", sessionId: started.sessionId, channel: "none" };
  if (started.kind === "refused") {
    return {
      code: "BAD_REQUEST",
      reason: started.reason,
      ...(started.retryAfterMs !== undefined ? { retryAfterMs: started.retryAfterMs } : {}),
    };
  }
  // Delivery failures end the session inside start(); nothing to wait for.
  const outcome: WaitOutcome =
    started.status === "pending" ? await waitForOutcome(env, started.address, started.deadline, started.wait) : { status: started.status };
  // The session handed its lease to this call: it serves this isolate's next session, or goes
  // back with its next lease from that shard.
  const { lease } = outcome;
  if (lease) {
    const held = started.lease;
    const kept = held.shard === lease.shard && held.id === lease.id ? poolLease(env, held) : queueRelease(env, lease.shard, lease.id);
    call.background(kept.catch((e: unknown) => log.warn("release_failed", { note: "expires on its own", error: String(e) })));
  }
  const by = outcome.answeredBy;
  return {
    code: codeForStatus(outcome.status),
    sessionId: started.sessionId,
    channel: started.channel,
    ...(by ? { device: { id: by.deviceId, name: by.name } } : {}),
  };
}

/**
 * Waits on the session object, over a hibernatable WebSocket so that the object is not held
 * active while the user decides (session-wait.ts). If the object is evicted or restarted
 * mid-wait the wait fails; the state is in storage, so we wait again (a fresh stub) while
 * retryWait allows: never on an overload, and not past what a relay waits for (wait-retry.ts).
 */
export async function waitForOutcome(env: Env, session: SessionAddress, deadline: number, opened?: WebSocket): Promise<WaitOutcome> {
  for (let attempt = 0; ; attempt++) {
    let outcome: WaitOutcome | null;
    try {
      outcome = attempt === 0 && opened ? await outcomeOn(opened, deadline) : await waitOnSession(env, session, deadline);
    } catch (e) {
      if (!retryWait(e, Date.now(), deadline)) throw e;
      log.warn("session_wait_retry", { attempt, error: String(e) });
      await new Promise((r) => setTimeout(r, waitBackoffMs(attempt)));
      continue;
    }
    if (outcome === null) throw new Error(`session ${session.name.slice(0, 12)} vanished while awaited`);
    return outcome;
  }
}
