import { DurableObject } from "cloudflare:workers";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { maskMsisdn } from "../../../core/msisdn";
import type { RateLimits } from "../../../core/rate-limit";
import type { SealedSeed } from "../../../core/seed-crypto";
import { seedKeyFromEnv } from "../../config/app-secrets";
import { Admission } from "./admission";
import { Challenges, answeringDevice } from "./challenges";
import type {
  ActivateResult,
  AdmitResult,
  AnswerCheck,
  AnsweringDevice,
  ChallengeSession,
  ClaimResult,
  DeviceInfo,
  DevicePending,
  SignedReadRefused,
  DeviceUpdateResult,
  NewDevice,
  UvExpectation,
  LockKindName,
  LockView,
  OfflineCheck,
  OtpVerdict,
  PendingClaim,
  PushTarget,
  SmsOtpPush,
  SmsOtpStarted,
  UvProof,
} from "./contract";
import { SESSION_START_URL, START_HEADER, type SessionStartAnswer, decodeStartArgs, sessionFromWaitUrl } from "./contract";
import { Device, checkSignedRead } from "./device";
import { clearLock, type LockKind, lockView } from "./lockouts";
import { OFFLINE_LOCK, OfflineCodes } from "./offline-codes";
import { SMS_OTP_LOCK, SmsOtp } from "./sms-otp";
import { HostedSessions } from "./sessions";
import { closeWaiter } from "../session/session-runtime";
import { SubscriberStore } from "./store";
import type {
  ActivationGrant,
  AppDecideOutcome,
  AppView,
  DecideOutcome,
  SessionInit,
  SessionOutcome,
  SessionView,
} from "../auth-session/contract";
import type { SessionSubscriber } from "../session/delivery";
import type { AnswerClaims } from "../../../core/contracts/app-api";
import { objectId, objectStub } from "../../lib/durable-objects";
import { log } from "../../lib/log";
import { smsProviderFromEnv } from "../../sms/from-env";

const LOCKS: Record<LockKindName, LockKind> = { offline: OFFLINE_LOCK, smsOtp: SMS_OTP_LOCK };

/**
 * One object per MSISDN (named by it): the number's rate-limit history, its pending sessions
 * (capped), the sign-in sessions it hosts, its authenticator devices and offline-code replay
 * state. Per-number objects keep a busy number from slowing anyone else down, and make each
 * check-and-update atomic (every method that writes runs through #serial). The work is done by
 * one capability each: admission.ts, sessions.ts, device.ts, challenges.ts, offline-codes.ts,
 * sms-otp.ts, over store.ts.
 */
export class Subscriber extends DurableObject<Env> {
  readonly #admission: Admission;
  readonly #device: Device;
  readonly #challenges: Challenges;
  readonly #offline: OfflineCodes;
  readonly #smsOtp: SmsOtp;
  readonly #store: SubscriberStore;
  readonly #sessions: HostedSessions;
  /**
   * The alarm time as last set or read here (null: none); undefined while unknown: in a new
   * instance, and while the alarm runs (the runtime clears or retries it then, not this code).
   * Only #rearm sets this object's alarm, so it spares a getAlarm on each of a session's steps.
   */
  #alarmAt: number | null | undefined;
  /** Alarm changes issued or run: a getAlarm that one overtook must not set #alarmAt. */
  #alarmChanges = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const store = new SubscriberStore(ctx.storage);
    this.#store = store;
    // Read when a seed is used, not here: a missing key fails that call, not the object.
    const seedKey = () => seedKeyFromEnv(env);
    const msisdn = ctx.id.name;
    const masked = msisdn ? maskMsisdn(msisdn) : undefined;
    this.#admission = new Admission(store);
    // With no device left, the challenges pushed are no longer offered: Device clears those on
    // stored entries, and the hosted sessions' (in memory) through this.
    this.#device = new Device(store, seedKey, async () => (await this.#sessions.pending()).clearChallenges());
    this.#challenges = new Challenges(store, () => this.#sessions.pending());
    this.#offline = new OfflineCodes(store, seedKey, msisdn, masked);
    this.#smsOtp = new SmsOtp(store, seedKey, masked);
    this.#sessions = new HostedSessions({
      env,
      storage: ctx.storage,
      getWebSockets: (tag) => ctx.getWebSockets(tag),
      acceptWebSocket: (ws, tags) => ctx.acceptWebSocket(ws, tags),
      waitUntil: (work) => ctx.waitUntil(work),
      sessionId: (name) => objectId(env, "AUTH_SESSION", name).toString(),
      // The number's own methods for its own sessions: a call to its own stub would queue
      // behind the call that makes it (and deadlock inside #serial).
      subscriber: (number): SessionSubscriber => (number === msisdn ? this : objectStub(env, "SUBSCRIBER", number)),
      rearm: () => this.#rearm(),
      devicesSince: async () => {
        const devices = await this.#device.list();
        return devices.length ? Math.min(...devices.map((d) => d.activatedAt)) : null;
      },
    });
  }

  // ---- admission ------------------------------------------------------------------------------

  /**
   * Records an authentication attempt if the rate limits allow it and, when `pending` is
   * given, the number has fewer than `cap` sessions pending. Refusals record nothing.
   */
  async admit(limits: RateLimits, pending?: PendingClaim): Promise<AdmitResult> {
    return this.#admitHere(limits, pending, false);
  }

  /** admit(); `hosted`: the claimed session is one this object hosts (hosted-pending.ts, no stored entry). */
  #admitHere(limits: RateLimits, pending: PendingClaim | undefined, hosted: boolean): Promise<AdmitResult> {
    return this.#serial(async () => {
      const index = pending ? await this.#sessions.pending() : undefined;
      const admitted = await this.#admission.admit(limits, pending, index && { index, claim: hosted });
      if (!admitted.allowed || !pending?.push) return admitted;
      return { ...admitted, pushable: (await this.#challenges.pushableDevices()).length > 0 };
    });
  }

  /** A session ended (or never started): it no longer counts against the cap. */
  async release(session: string): Promise<void> {
    return this.#serial(async () => {
      const hosted = (await this.#sessions.pending()).release(session);
      // Its challenge went to every device: the others' late answers hear "already answered".
      if (hosted?.challengeId) await this.#challenges.remember(hosted.challengeId, session);
      // A session hosted since it was admitted has no stored entry to give back.
      if (hosted && !hosted.stored) return;
      const entry = await this.#admission.release(session);
      if (entry?.challengeId) await this.#challenges.remember(entry.challengeId, session);
    });
  }

  /** Sessions of this number pending (its own sign-ins and approvals asked of it). */
  async pendingCount(): Promise<number> {
    return this.#admission.pendingCount(await this.#sessions.pending());
  }

  // ---- sign-in sessions hosted here (sessions.ts) ------------------------------------------------

  /**
   * Admits a session of this number (admit()) and starts it here: one call for both. A refused
   * call starts nothing; a start that throws gives the entry back.
   */
  async startSession(limits: RateLimits, claim: PendingClaim, init: SessionInit): Promise<SessionStartAnswer> {
    const admitted = await this.#admitHere(limits, claim, true);
    if (!admitted.allowed) return { admitted };
    try {
      const started = await this.#sessions.runtime(init.name).start(admitted.pushable === false ? { ...init, userPushable: false } : init);
      return { admitted, started };
    } catch (e) {
      await this.release(init.name).catch(() => {});
      throw e;
    }
  }

  /** Whether this object hosts the session named `name` (the app's answer finds it here). */
  async hostsSession(name: string): Promise<boolean> {
    return this.#sessions.holds(name);
  }

  sessionView(name: string): Promise<SessionView> {
    return this.#sessions.use(name, (session) => session.view());
  }

  sessionDecide(name: string, decision: "accept" | "reject", csrf: string, pick?: number): Promise<DecideOutcome> {
    return this.#sessions.use(name, (session) => session.decide(decision, csrf, pick));
  }

  sessionActivationGrant(name: string, csrf: string): Promise<ActivationGrant> {
    return this.#sessions.use(name, (session) => session.activationGrant(csrf));
  }

  sessionAppView(name: string, challengeId: string, device: AnsweringDevice): Promise<AppView> {
    return this.#sessions.use(name, (session) => session.appView(challengeId, device));
  }

  sessionAppDecide(name: string, claims: AnswerClaims, device: AnsweringDevice, uv: UvProof): Promise<AppDecideOutcome> {
    return this.#sessions.use(name, (session) => session.appDecide(claims, device, uv));
  }

  sessionWaitOutcome(name: string): Promise<SessionOutcome | null> {
    return this.#sessions.use(name, (session) => session.waitOutcome());
  }

  /**
   * A blocking call's wait on a session hosted here (contract.ts sessionWaitUrl; see
   * SessionRuntime.openWait), or its start and wait in one request (SESSION_START_URL).
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.url === SESSION_START_URL) return this.#startAndWait(request);
    const name = sessionFromWaitUrl(request.url);
    if (name === null) return new Response("not found", { status: 404 });
    return this.#sessions.use(name, (session) => session.openWait(request));
  }

  async #startAndWait(request: Request): Promise<Response> {
    if (request.headers.get("upgrade") !== "websocket") return new Response("websocket upgrade expected", { status: 426 });
    const args = decodeStartArgs(request.headers.get(START_HEADER));
    if (!args) return new Response("session start expected", { status: 400 });
    const answer = await this.startSession(args.limits, args.claim, args.init);
    if (answer.started?.status !== "pending") return Response.json(answer);
    return this.#sessions.use(args.init.name, async (session) => {
      const opened = await session.openWait(request);
      // Ended already (an app answered at once): the caller reads the outcome the usual way.
      if (opened.status !== 101) return Response.json(answer);
      return new Response(null, { status: 101, webSocket: opened.webSocket, headers: { [START_HEADER]: JSON.stringify(answer) } });
    });
  }

  /** A waiting call sends nothing; whatever arrives is ignored. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeWaiter(ws, code);
  }

  // ---- devices: activation, joins, updates ----------------------------------------------------

  /** Stores an activation token's hash with the code's MAC; false when too many codes were sent (`requested`: see Device). */
  async grantActivation(tokenHash: string, expiresAt: number, codeMac: string, requested = false): Promise<boolean> {
    return this.#serial(() => this.#device.grantActivation(tokenHash, expiresAt, codeMac, requested));
  }

  /** Whether a token is live for this number, and whether activating would join other devices. */
  async activationInfo(tokenHash: string): Promise<{ hasDevice: boolean } | null> {
    return this.#device.activationInfo(tokenHash);
  }

  /** Binds a device (at once, or as a pending join after `graceMs`): see Device.activate. */
  async activate(tokenHash: string, codeMac: string, device: NewDevice, graceMs: number, maxDevices: number): Promise<ActivateResult> {
    // Unknown tokens are refused by a read, outside #serial (junk cannot queue up here).
    if (!(await this.#device.activationInfo(tokenHash))) return { ok: false, reason: "invalid_token" };
    return this.#serial(() => this.#device.activate(tokenHash, codeMac, device, graceMs, maxDevices));
  }

  /**
   * The joining device asks to take effect (signed with its key). After the grace window it is
   * one of the number's devices. Repeatable by a device installed (a lost answer must not
   * strand it without a seed).
   */
  async claimReplacement(deviceId: string, jws: string, maxDevices: number): Promise<ClaimResult> {
    // Which device asks, its signature and the grace window are reads, outside #serial.
    const claim = await this.#device.checkClaim(deviceId, jws);
    if (claim.kind !== "take_over") return claim;
    return this.#serial(() => this.#device.takeOver(claim, maxDevices));
  }

  /** The newest device's public facts (for status pages and tests; never the seed or key); devices() lists all. */
  async device(): Promise<DeviceInfo | null> {
    return this.#device.info();
  }

  /** Every device's public facts, oldest first. */
  async devices(): Promise<DeviceInfo[]> {
    return this.#device.list();
  }

  /** Forgets one device, e.g. when its push service answered 404/410 (app gone). */
  async forgetDevice(deviceId: string): Promise<boolean> {
    return (await this.removeDevice(deviceId)) !== null;
  }

  /** Forgets one device (revoked by an operator); answers what it was, or null. */
  async removeDevice(deviceId: string): Promise<DeviceInfo | null> {
    return this.#serial(() => this.#device.forget(deviceId));
  }

  /**
   * A signed update from a device: new push subscription (or none), new name, removal, or
   * refusing a join. The signature proves the request comes from the device key; `iat` bounds
   * it in time and its `jti` is taken once, so a copy of the body cannot be played again.
   */
  async updateDevice(deviceId: string, jws: string): Promise<DeviceUpdateResult> {
    // Device lookup and signature check are reads: junk is refused without entering #serial,
    // so a flood of it cannot queue up in front of this number's sign-ins.
    const claims = await this.#device.checkUpdate(deviceId, jws);
    if (!claims) return "refused";
    const seen = claims.otpSeen;
    return this.#serial(async () => {
      // Each signed update counts once: the same body played again is refused.
      if (!(await this.#device.takeUpdate(claims))) return "refused";
      // The device got the SMS OTP's push: the SMS it owed is not sent (see SmsOtp).
      if (seen !== undefined) return (await this.#smsOtp.takeOwed(seen)) ? "otp_seen" : "otp_not_owed";
      return this.#device.applyUpdate(deviceId, claims);
    });
  }

  // ---- push challenges --------------------------------------------------------------------------

  /** Opens a challenge for a pending session if devices can get pushes; where to push it. */
  async pushTarget(session: string): Promise<PushTarget | null> {
    return this.#serial(() => this.#challenges.pushTarget(session));
  }

  /** Assisted Login: opens an approver challenge for someone else's session (lapses at `until`). */
  async approverTarget(session: string, until: number): Promise<PushTarget | null> {
    return this.#serial(() => this.#challenges.approverTarget(session, until));
  }

  /** The session's challenge was answered for good: it is no longer offered to the apps. */
  async closeChallenge(session: string): Promise<void> {
    return this.#serial(() => this.#challenges.close(session));
  }

  /** The session behind a challenge, for a read of it the asking device (one of the number's) signed. */
  async challengeSession(deviceId: string, challengeId: string, jws: string): Promise<ChallengeSession | SignedReadRefused | null> {
    const read = await checkSignedRead(this.#store, deviceId, jws, "challenge", challengeId);
    if (read === "bad_signature") return { refused: read };
    if (read === "unknown_device") return null;
    const found = await this.#challenges.sessionOf(deviceId, challengeId);
    return found && { ...found, hosted: await this.#sessions.holds(found.session) };
  }

  /**
   * Challenge ids still pending for the number's devices, a join waiting, and the devices (the
   * app lists them), for a read the device signed (`read`: what the app asked for).
   */
  async pendingChallenges(deviceId: string, jws: string, what: "pending" | "devices"): Promise<DevicePending | SignedReadRefused | null> {
    const read = await checkSignedRead(this.#store, deviceId, jws, what);
    if (read === "bad_signature") return { refused: read };
    if (read === "unknown_device") return null;
    return this.#challenges.pending(deviceId);
  }

  /**
   * Checks a signed answer (one of the number's devices, valid ES256 signature, a challenge of
   * ours) and, for an Accept with a user-verification assertion, the assertion.
   */
  async checkAnswer(deviceId: string, jws: string, assertion?: AuthenticationResponseJSON, rp?: UvExpectation): Promise<AnswerCheck> {
    const check = await this.#challenges.checkAnswer(deviceId, jws);
    if (!check.ok) return check;
    const { device, claims, session } = check;
    // The assertion's counter is stored: a write, so inside #serial; without one, nothing to write.
    const uv = assertion && rp ? await this.#serial(() => this.#challenges.checkUv(device.id, claims, assertion, rp)) : "missing";
    return { ok: true, session, hosted: await this.#sessions.holds(session), claims, device: answeringDevice(device), uv };
  }

  // ---- offline codes (called by the RADIUS relay through the edge) ------------------------------

  /** A TOTP code from the app's seed or the on-prem token; each time step counts once. */
  async checkTotp(code: string): Promise<OfflineCheck> {
    return this.#serial(() => this.#offline.checkTotp(code));
  }

  /** checkTotp as a yes/no. */
  async verifyTotp(code: string): Promise<boolean> {
    return (await this.checkTotp(code)).verdict === "accept";
  }

  /** A code signing `challenge` with the app's seed; each challenge is accepted once. */
  async checkSignedChallenge(challenge: string, code: string): Promise<OfflineCheck> {
    return this.#serial(() => this.#offline.checkSignedChallenge(challenge, code));
  }

  /** checkSignedChallenge as a yes/no. */
  async verifyChallengeResponse(challenge: string, code: string): Promise<boolean> {
    return (await this.checkSignedChallenge(challenge, code)).verdict === "accept";
  }

  // ---- on-prem TOTP token (enrolled by an operator) -------------------------------------------

  async setTotpToken(seed: SealedSeed): Promise<void> {
    return this.#serial(() => this.#offline.setToken(seed));
  }

  async removeTotpToken(): Promise<boolean> {
    return this.#offline.removeToken();
  }

  async hasTotpToken(): Promise<boolean> {
    return this.#offline.hasToken();
  }

  /** Whether a TOTP code can be asked for at all: an enrolled token or an activated app. */
  async hasOfflineCodes(): Promise<boolean> {
    return this.#offline.available();
  }

  // ---- SMS OTP (RADIUS challenge-response) ----------------------------------------------------

  /** Starts an SMS OTP challenge (the caller sends the SMS); null while SMS OTP is locked. */
  async startSmsOtp(code: string, ttlMs: number): Promise<string | null> {
    return this.#serial(() => this.#smsOtp.start(code, ttlMs));
  }

  /**
   * Starts an SMS OTP challenge whose code goes to the app first; null while SMS OTP is locked.
   * With devices that can get pushes, the answer lists them (the caller pushes the code) and
   * the SMS is owed: this object's alarm sends it after `graceMs` unless a device acknowledges
   * the push, the code is used, or the caller takes it (takeOwedSmsOtp). Without such devices
   * nothing is owed and the caller sends the SMS.
   */
  async startPushedSmsOtp(code: string, ttlMs: number, push: SmsOtpPush): Promise<SmsOtpStarted | null> {
    return this.#serial(async () => {
      const devices = await this.#challenges.pushableDevices();
      const fallback = devices.length > 0 ? push : undefined;
      const challengeId = await this.#smsOtp.start(code, ttlMs, fallback);
      if (challengeId === null) return null;
      if (fallback) await this.#rearm();
      return { challengeId, devices };
    });
  }

  /** The owed SMS is the caller's to send now (the push failed); false: not owed (any more). */
  async takeOwedSmsOtp(challengeId: string): Promise<boolean> {
    return this.#serial(() => this.#smsOtp.takeOwed(challengeId));
  }

  /** The one alarm: the hosted sessions' timers that are due, then the owed SMS OTP; then the earliest next. */
  override async alarm(): Promise<void> {
    this.#alarmUnknown();
    try {
      await this.#alarmDue();
    } finally {
      this.#alarmUnknown();
    }
  }

  async #alarmDue(): Promise<void> {
    const now = Date.now();
    await this.#sessions.runDue(now);
    const due = await this.#serial(() => this.#smsOtp.takeDue(now));
    await this.#rearm();
    if (!due.sms) return;
    try {
      await smsProviderFromEnv(this.env).send(due.sms);
      log.info("sms_otp_fallback_sent", {});
    } catch (e) {
      // Taken before sending: not retried (the user asks for a new code at the NAS).
      log.error("delivery_failed", { channel: "sms-otp-fallback", error: String(e) });
    }
  }

  async cancelSmsOtp(challengeId: string): Promise<void> {
    return this.#serial(() => this.#smsOtp.cancel(challengeId));
  }

  /** Checks the code of the latest challenge; single use, with its own lockout. */
  async checkSmsOtp(challengeId: string, code: string): Promise<OfflineCheck> {
    return this.#serial(() => this.#smsOtp.check(challengeId, code));
  }

  /** checkSmsOtp's verdict alone. */
  async verifySmsOtp(challengeId: string, code: string): Promise<OtpVerdict> {
    return (await this.checkSmsOtp(challengeId, code)).verdict;
  }

  // ---- wrong-code lockouts (operators) ---------------------------------------------------------

  /** Each lockout of the number: wrong codes counted, and until when it refuses. */
  async locks(): Promise<Record<LockKindName, LockView>> {
    const now = Date.now();
    return { offline: await lockView(this.#store, LOCKS.offline, now), smsOtp: await lockView(this.#store, LOCKS.smsOtp, now) };
  }

  /** Clears the named lockouts (an operator who checked who is calling); answers the ones that held anything. */
  async clearLocks(kinds: LockKindName[]): Promise<LockKindName[]> {
    return this.#serial(async () => {
      const cleared: LockKindName[] = [];
      for (const kind of new Set(kinds)) if (await clearLock(this.#store, LOCKS[kind])) cleared.push(kind);
      return cleared;
    });
  }

  /**
   * Runs a read-check-write on this object's storage with no other call in between: without
   * it, concurrent admits were seen to lose each other's pending entries and rate slots. (The
   * synchronous KV API would also do, but only on SQLite storage, and the pending-sessions
   * benchmark runs objects on in-memory storage.) Callers inside must not call back into a
   * serialised method.
   */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.ctx.blockConcurrencyWhile(fn);
  }

  /**
   * The one alarm serves every timer here (the hosted sessions' schedule, the owed SMS OTP):
   * it is kept at the earliest of them, and cleared when there is none.
   */
  async #rearm(): Promise<void> {
    const [sessions, owed] = await Promise.all([this.#sessions.nextWake(), this.#smsOtp.owedAt()]);
    const next = sessions === null ? owed : owed === null ? sessions : Math.min(sessions, owed);
    if (next === (await this.#alarmTime())) return;
    this.#alarmChanges++;
    this.#alarmAt = next; // before the await: storage calls apply in order, so the last one wins
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }

  async #alarmTime(): Promise<number | null> {
    if (this.#alarmAt !== undefined) return this.#alarmAt;
    const changes = this.#alarmChanges;
    const at = await this.ctx.storage.getAlarm();
    if (changes === this.#alarmChanges) this.#alarmAt = at;
    // A change that overtook the read set the fresher value (or made it unknown again).
    return this.#alarmAt !== undefined ? this.#alarmAt : at;
  }

  #alarmUnknown(): void {
    this.#alarmChanges++;
    this.#alarmAt = undefined;
  }
}
