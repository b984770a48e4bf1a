import { DurableObject } from "cloudflare:workers";
import { seedKeyFromEnv } from "../../config/app-secrets";
import {
  AnswerClaimsSchema,
  DeviceUpdateClaimsSchema,
  type AnswerClaims,
  type DevicePublicKey,
  type PushSubscriptionJson,
} from "../../../core/contracts/app-api";
import { verifyCompactJws } from "../../../core/jws";
import { maskMsisdn } from "../../../core/msisdn";
import { NO_LOCKOUT, isLocked, recordFailure, type FailureOutcome, type LockoutState } from "../../../core/offline-lockout";
import { checkChallengeResponse, checkTotp, newSeed, seedToBase32 } from "../../../core/otp";
import { admit, type RateLimits } from "../../../core/rate-limit";
import { LEGACY_TOTP_TOKEN_CONTEXT, openSeed, sealSeed, totpTokenContext, type SealedSeed } from "../../../core/seed-crypto";
import { smsOtpMac, smsOtpMacKey } from "../../../core/sms-otp-mac";
import {
  ACTIVATION_SEND_LIMITS,
  MAX_ACTIVATION_CODE_ATTEMPTS,
  isActivationGrant,
  replacementPhase,
  type ActivationGrant,
  type PendingReplacement,
} from "../../../core/device-activation";
import { randomToken, sha256Hex, timingSafeEqualString } from "../../../core/tokens";
import { log } from "../../lib/log";
import type {
  ActivateResult,
  AdmitResult,
  AnswerCheck,
  ClaimResult,
  DeviceRef,
  DeviceUpdateResult,
  OfflineCheck,
  OtpVerdict,
  PendingClaim,
  PushTarget,
} from "./contract";

interface SmsOtpChallenge {
  id: string;
  /** smsOtpMac(id, code): keyed, so a storage dump does not give the code away. */
  codeMac: string;
  expiresAt: number;
  attempts: number;
}

/**
 * An on-prem TOTP token (hardware token or authenticator app enrolled by an operator); its
 * seed is sealed with totpTokenContext(this number) as additional data.
 */
interface TotpToken {
  seed: SealedSeed;
}

/** Wrong codes allowed per SMS OTP challenge before it is burnt. */
const MAX_SMS_OTP_ATTEMPTS = 3;

/** A lockout's storage key and the log event of a lock it starts (same math: offline-lockout.ts). */
interface LockKind {
  key: string;
  event: string;
}
/** TOTP and signed challenges (the app's and the on-prem token's offline codes). */
const OFFLINE_LOCK: LockKind = { key: "offlineLock", event: "offline_code_lockout" };
/**
 * SMS OTP codes, counted across challenges. A lock of its own, not the offline one: the
 * offline API lets any endpoint with `offlineCodes` lock a number's offline codes, and sharing
 * would let it lock RADIUS SMS OTP sign-in too; and a user's mistyped SMS codes should not take
 * their offline fallback away. Each kind keeps its own ~380 guesses a year.
 */
const SMS_OTP_LOCK: LockKind = { key: "smsOtpLock", event: "sms_otp_lockout" };

/**
 * A pending session of this number; `challengeId` once it was pushed to the device.
 * `approver`: the number is asked as an Assisted Login approver of someone else's sign-in, which
 * does not count against its own pending cap.
 */
interface PendingEntry {
  until: number;
  challengeId?: string;
  approver?: true;
}

/** The activated authenticator app of this number (one device per number, like Mideye+). */
interface DeviceRecord {
  id: string;
  publicKey: DevicePublicKey;
  subscription: PushSubscriptionJson | null;
  seed: SealedSeed;
  activatedAt: number;
}

/** Activation tokens outstanding per number; older ones are dropped beyond this. */
const MAX_GRANTS = 5;
/** A signed device update must be this fresh (clock skew included). */
const UPDATE_WINDOW_MS = 5 * 60_000;
/** Used challenge-response challenges are remembered this long. */
const CR_REPLAY_MS = 15 * 60_000;

/**
 * One object per MSISDN (named by it): the number's rate-limit history, its pending sessions
 * (capped), its authenticator device and offline-code replay state. Per-number objects keep a
 * busy number from slowing anyone else down, and make each check-and-update atomic (every
 * method that writes runs through #serial).
 */
export class Subscriber extends DurableObject<Env> {
  /**
   * Records an authentication attempt if the rate limits allow it and, when `pending` is
   * given, the number has fewer than `cap` sessions pending. Refusals record nothing.
   */
  async admit(limits: RateLimits, pending?: PendingClaim): Promise<AdmitResult> {
    return this.#serial(async () => {
      const now = Date.now();
      const history = (await this.ctx.storage.get<number[]>("rate")) ?? [];
      const decision = admit(history, limits, now);
      if (!decision.allowed) {
        await this.ctx.storage.put("rate", decision.history);
        return { allowed: false, reason: "rate_limited", retryAfterMs: decision.retryAfterMs };
      }
      if (pending) {
        const entries = await this.#pending(now);
        const own = Object.values(entries).filter((e) => !e.approver).length;
        if (own >= pending.cap) return { allowed: false, reason: "too_many_pending" };
        entries[pending.session] = { until: pending.until };
        await this.ctx.storage.put("pending", entries);
      }
      await this.ctx.storage.put("rate", decision.history);
      return { allowed: true, retryAfterMs: 0 };
    });
  }

  /** A session ended (or never started): it no longer counts against the cap. */
  async release(session: string): Promise<void> {
    return this.#serial(async () => {
      const entries = await this.#pending(Date.now());
      if (!(session in entries)) return;
      delete entries[session];
      await this.ctx.storage.put("pending", entries);
    });
  }

  /** Sessions of this number pending (its own sign-ins and approvals asked of it). */
  async pendingCount(): Promise<number> {
    return Object.keys(await this.#pending(Date.now())).length;
  }

  // ---- activation -------------------------------------------------------------------------

  /**
   * Stores a one-time activation token (its hash) with the MAC of the code sent by SMS. False
   * when the number was sent too many activation codes lately (nothing is stored then).
   */
  async grantActivation(tokenHash: string, expiresAt: number, codeMac: string): Promise<boolean> {
    return this.#serial(async () => {
      const now = Date.now();
      const sends = admit((await this.ctx.storage.get<number[]>("activationSends")) ?? [], ACTIVATION_SEND_LIMITS, now);
      await this.ctx.storage.put("activationSends", sends.history);
      if (!sends.allowed) return false;
      const grants = Object.entries(await this.#grants())
        .filter(([, g]) => g.expiresAt > now)
        .sort((a, b) => b[1].expiresAt - a[1].expiresAt)
        .slice(0, MAX_GRANTS - 1);
      const grant: ActivationGrant = { expiresAt, codeMac, attempts: 0 };
      await this.ctx.storage.put("grants", Object.fromEntries([[tokenHash, grant], ...grants]));
      return true;
    });
  }

  /** Whether a token is live for this number, and whether activating would replace a device. */
  async activationInfo(tokenHash: string): Promise<{ hasDevice: boolean } | null> {
    const grant = (await this.#grants())[tokenHash];
    if (!grant || Date.now() >= grant.expiresAt) return null;
    return { hasDevice: (await this.ctx.storage.get("device")) !== undefined };
  }

  /**
   * Binds a device if the token is live and `codeMac` matches the code sent by SMS (a few
   * tries, then the token is burnt; a right code consumes it). With no device yet it is active
   * at once; otherwise it becomes a pending replacement that takes over at now + `graceMs`
   * (claimReplacement) unless the current device refuses it first.
   */
  async activate(
    tokenHash: string,
    codeMac: string,
    publicKey: DevicePublicKey,
    subscription: PushSubscriptionJson | null,
    graceMs: number,
  ): Promise<ActivateResult> {
    // Unknown tokens are refused by a read, outside #serial (junk cannot queue up here).
    if (!(await this.activationInfo(tokenHash))) return { ok: false, reason: "invalid_token" };
    return this.#serial(async () => {
      const now = Date.now();
      const grants = await this.#grants();
      const grant = grants[tokenHash];
      if (!grant || now >= grant.expiresAt) return { ok: false, reason: "invalid_token" };
      if (!(await timingSafeEqualString(grant.codeMac, codeMac))) {
        grant.attempts++;
        if (grant.attempts >= MAX_ACTIVATION_CODE_ATTEMPTS) delete grants[tokenHash];
        await this.ctx.storage.put("grants", grants);
        return { ok: false, reason: "wrong_code" };
      }
      delete grants[tokenHash];
      await this.ctx.storage.put("grants", grants);

      const current = await this.ctx.storage.get<DeviceRecord>("device");
      if (current) {
        const replacement: PendingReplacement = { id: randomToken(), publicKey, subscription, requestedAt: now, effectiveAt: now + graceMs };
        await this.ctx.storage.put("replacement", replacement);
        return {
          ok: true,
          kind: "replacement_pending",
          deviceId: replacement.id,
          effectiveAt: replacement.effectiveAt,
          replaced: { id: current.id, subscription: current.subscription },
        };
      }
      const { id, seed } = await this.#install(randomToken(), publicKey, subscription);
      return { ok: true, kind: "activated", deviceId: id, seed };
    });
  }

  /**
   * The replacing device asks to take over (signed with its key). After the grace window it
   * becomes the number's device; the old device's challenges and all replay state go with it.
   * Repeatable by the device now installed (a lost answer must not strand it without a seed).
   */
  async claimReplacement(deviceId: string, jws: string): Promise<ClaimResult> {
    const rep = await this.ctx.storage.get<PendingReplacement>("replacement");
    const isPending = rep !== undefined && (await timingSafeEqualString(rep.id, deviceId));
    const installed = isPending ? null : await this.#deviceById(deviceId);
    const key = isPending ? rep!.publicKey : installed?.publicKey;
    if (!key) return { kind: "unknown_device" };
    const claims = DeviceUpdateClaimsSchema.safeParse(await verifyCompactJws(key, jws));
    if (!claims.success || !claims.data.claim || Math.abs(claims.data.iat * 1000 - Date.now()) > UPDATE_WINDOW_MS) {
      return { kind: "refused" };
    }
    if (installed) {
      const seed = await openSeed(seedKeyFromEnv(this.env), installed.seed, installed.id);
      return { kind: "activated", seed: seedToBase32(seed), replaced: false };
    }
    const phase = replacementPhase(rep!, Date.now());
    if (phase === "waiting") return { kind: "waiting", effectiveAt: rep!.effectiveAt };
    return this.#serial(async () => {
      const again = await this.ctx.storage.get<PendingReplacement>("replacement");
      if (again?.id !== rep!.id) return { kind: "unknown_device" };
      await this.ctx.storage.delete("replacement");
      if (phase === "lapsed") return { kind: "unknown_device" };
      await this.#clearDeviceState();
      const { seed } = await this.#install(again.id, again.publicKey, again.subscription);
      return { kind: "activated", seed, replaced: true };
    });
  }

  /** Public facts about the device, for status pages and tests (never the seed or key). */
  async device(): Promise<{ deviceId: string; push: boolean; activatedAt: number } | null> {
    const d = await this.ctx.storage.get<DeviceRecord>("device");
    return d ? { deviceId: d.id, push: d.subscription !== null, activatedAt: d.activatedAt } : null;
  }

  /** Forgets the device, e.g. when its push service answered 404/410 (app gone). */
  async forgetDevice(deviceId: string): Promise<boolean> {
    return this.#serial(() => this.#forget(deviceId));
  }

  /**
   * A signed update from the device: new push subscription (or none), or removal. The
   * signature proves the request comes from the device key; `iat` bounds replays in time.
   */
  async updateDevice(deviceId: string, jws: string): Promise<DeviceUpdateResult> {
    // Device lookup and signature check are reads: junk is refused without entering #serial,
    // so a flood of it cannot queue up in front of this number's sign-ins.
    const signer = await this.#deviceById(deviceId);
    if (!signer) return "refused";
    const claims = DeviceUpdateClaimsSchema.safeParse(await verifyCompactJws(signer.publicKey, jws));
    if (!claims.success || Math.abs(claims.data.iat * 1000 - Date.now()) > UPDATE_WINDOW_MS) return "refused";
    return this.#serial(async () => {
      // Re-read: the device may have been replaced or removed while the signature was checked.
      const d = await this.#deviceById(deviceId);
      if (!d) return "refused";
      if (claims.data.remove) {
        await this.#forget(d.id);
        return "removed";
      }
      if (claims.data.refuseReplacement) {
        if (!(await this.ctx.storage.delete("replacement"))) return "refused";
        return "replacement_refused";
      }
      if (claims.data.subscription !== undefined) {
        await this.ctx.storage.put("device", { ...d, subscription: claims.data.subscription });
      }
      return "updated";
    });
  }

  // ---- push challenges --------------------------------------------------------------------

  /**
   * If the number has a device that can get pushes, opens a challenge for a pending session
   * and returns where to push it. The challenge id is all the push carries.
   */
  async pushTarget(session: string): Promise<PushTarget | null> {
    return this.#serial(async () => {
      const d = await this.ctx.storage.get<DeviceRecord>("device");
      if (!d?.subscription) return null;
      const entries = await this.#pending(Date.now());
      const entry = entries[session];
      if (!entry) return null;
      entry.challengeId = randomToken();
      await this.ctx.storage.put("pending", entries);
      return { deviceId: d.id, challengeId: entry.challengeId, subscription: d.subscription };
    });
  }

  /**
   * Assisted Login: this number was picked to approve someone else's sign-in. If it has a
   * device that can get pushes, opens a challenge for that session (an approver entry, which
   * lapses at `until` should the session never release it) and returns where to push it.
   */
  async approverTarget(session: string, until: number): Promise<PushTarget | null> {
    return this.#serial(async () => {
      const d = await this.ctx.storage.get<DeviceRecord>("device");
      if (!d?.subscription) return null;
      const entries = await this.#pending(Date.now());
      const entry: PendingEntry = { until, challengeId: randomToken(), approver: true };
      entries[session] = entry;
      await this.ctx.storage.put("pending", entries);
      return { deviceId: d.id, challengeId: entry.challengeId!, subscription: d.subscription };
    });
  }

  /** The device answered the session's challenge for good: it is no longer offered to the app. */
  async closeChallenge(session: string): Promise<void> {
    return this.#serial(async () => {
      const entries = await this.#pending(Date.now());
      if (entries[session]?.challengeId === undefined) return;
      delete entries[session]!.challengeId;
      await this.ctx.storage.put("pending", entries);
    });
  }

  /** The session behind a challenge, if the asking device is this number's device. */
  async challengeSession(deviceId: string, challengeId: string): Promise<string | null> {
    if (!(await this.#deviceById(deviceId))) return null;
    return this.#sessionOf(challengeId);
  }

  /** Challenge ids still pending for the device (the app lists them when opened). */
  async pendingChallenges(
    deviceId: string,
  ): Promise<{ challenges: string[]; replacement: { requestedAt: number; effectiveAt: number } | null } | null> {
    if (!(await this.#deviceById(deviceId))) return null;
    const challenges = Object.values(await this.#pending(Date.now()))
      .map((e) => e.challengeId)
      .filter((c): c is string => c !== undefined);
    // Another device asked to take over: the app shows it with a Refuse button.
    const rep = await this.ctx.storage.get<PendingReplacement>("replacement");
    return { challenges, replacement: rep ? { requestedAt: rep.requestedAt, effectiveAt: rep.effectiveAt } : null };
  }

  /** Checks a signed answer: right device, valid ES256 signature, a challenge of ours. */
  async checkAnswer(deviceId: string, jws: string): Promise<AnswerCheck> {
    const d = await this.#deviceById(deviceId);
    if (!d) return { ok: false, reason: "unknown_device" };
    const claims = AnswerClaimsSchema.safeParse(await verifyCompactJws(d.publicKey, jws));
    if (!claims.success) return { ok: false, reason: "bad_signature" };
    const session = await this.#sessionOf(claims.data.c);
    if (!session) return { ok: false, reason: "unknown_challenge" };
    return { ok: true, session, claims: claims.data };
  }

  // ---- offline codes (called by the RADIUS relay through the edge) ------------------------

  /**
   * A TOTP code from the app's seed or from the on-prem token enrolled by an operator; each
   * time step of each seed counts once. "locked" while a lockout (OFFLINE_LOCKOUT) runs. A
   * seed that cannot be used (fails to open, wrong size) matches nothing: with no match the
   * attempt counts as a failure, so a broken seed never switches the lockout off.
   */
  async checkTotp(code: string): Promise<OfflineCheck> {
    return this.#serial(async () => {
      const now = Date.now();
      if (isLocked(await this.#lockout(), now)) return { verdict: "locked", lockout: null };
      const device = await this.ctx.storage.get<DeviceRecord>("device");
      const token = await this.ctx.storage.get<TotpToken>("totpToken");
      const sources: Array<{ open: () => Promise<Uint8Array>; stepKey: string }> = [];
      if (device) sources.push({ open: () => openSeed(seedKeyFromEnv(this.env), device.seed, device.id), stepKey: "totpStep" });
      if (token) sources.push({ open: () => this.#openToken(token), stepKey: "tokenStep" });
      if (sources.length === 0) return { verdict: "reject", lockout: null };
      for (const { open, stepKey } of sources) {
        const r = await this.#guarded(stepKey, async () => checkTotp(await open(), code, now, await this.ctx.storage.get<number>(stepKey)));
        if (!r?.valid) continue;
        // Re-read after the awaits: a concurrent check of the same code must not pass twice.
        const again = await this.ctx.storage.get<number>(stepKey);
        if (again !== undefined && again >= r.timeStep) return { verdict: "reject", lockout: null };
        await this.ctx.storage.put(stepKey, r.timeStep);
        await this.ctx.storage.delete(OFFLINE_LOCK.key);
        return { verdict: "accept", lockout: null };
      }
      return this.#failed(now);
    });
  }

  /** TOTP check as a yes/no (the app's offline-code API). */
  async verifyTotp(code: string): Promise<boolean> {
    return (await this.checkTotp(code)).verdict === "accept";
  }

  // ---- on-prem TOTP token (enrolled by an operator) ----------------------------------------

  async setTotpToken(seed: SealedSeed): Promise<void> {
    return this.#serial(async () => {
      await this.ctx.storage.put("totpToken", { seed } satisfies TotpToken);
      await this.ctx.storage.delete("tokenStep");
    });
  }

  async removeTotpToken(): Promise<boolean> {
    return this.ctx.storage.delete("totpToken");
  }

  async hasTotpToken(): Promise<boolean> {
    return (await this.ctx.storage.get("totpToken")) !== undefined;
  }

  /** Whether a TOTP code can be asked for at all: an enrolled token or an activated app. */
  async hasOfflineCodes(): Promise<boolean> {
    return (await this.hasTotpToken()) || (await this.ctx.storage.get("device")) !== undefined;
  }

  // ---- SMS OTP (RADIUS challenge-response) --------------------------------------------------

  /**
   * Starts an SMS OTP challenge for `code` (the caller sends the SMS). A new challenge
   * replaces any earlier one: only the latest code sent is valid. Null while the number's SMS
   * OTP is locked (SMS_OTP_LOCK): no code is worth sending then.
   */
  async startSmsOtp(code: string, ttlMs: number): Promise<string | null> {
    return this.#serial(async () => {
      if (isLocked(await this.#lockout(SMS_OTP_LOCK), Date.now())) return null;
      const id = randomToken(16);
      const codeMac = await smsOtpMac(await smsOtpMacKey(seedKeyFromEnv(this.env)), id, code);
      const challenge: SmsOtpChallenge = { id, codeMac, expiresAt: Date.now() + ttlMs, attempts: 0 };
      await this.ctx.storage.put("smsOtp", challenge);
      return challenge.id;
    });
  }

  async cancelSmsOtp(challengeId: string): Promise<void> {
    return this.#serial(async () => {
      const c = await this.ctx.storage.get<SmsOtpChallenge>("smsOtp");
      if (c?.id === challengeId) await this.ctx.storage.delete("smsOtp");
    });
  }

  /**
   * Single use: the challenge is gone after a correct code, expiry, or too many wrong codes.
   * Every wrong code also counts in the number's SMS OTP lockout (SMS_OTP_LOCK), across
   * challenges: a new challenge no longer buys fresh guesses. "locked": not checked.
   */
  async checkSmsOtp(challengeId: string, code: string): Promise<OfflineCheck> {
    return this.#serial(async () => {
      const now = Date.now();
      if (isLocked(await this.#lockout(SMS_OTP_LOCK), now)) return { verdict: "locked", lockout: null };
      const c = await this.ctx.storage.get<SmsOtpChallenge>("smsOtp");
      if (!c || !(await timingSafeEqualString(c.id, challengeId))) return { verdict: "expired", lockout: null };
      if (now >= c.expiresAt) {
        await this.ctx.storage.delete("smsOtp");
        return { verdict: "expired", lockout: null };
      }
      // A challenge stored before the keyed MAC has no codeMac: it cannot match (lapses in 5 min).
      const mac = await smsOtpMac(await smsOtpMacKey(seedKeyFromEnv(this.env)), c.id, code.trim());
      if (c.codeMac !== undefined && (await timingSafeEqualString(c.codeMac, mac))) {
        await this.ctx.storage.delete(["smsOtp", SMS_OTP_LOCK.key]);
        return { verdict: "accept", lockout: null };
      }
      c.attempts++;
      if (c.attempts >= MAX_SMS_OTP_ATTEMPTS) await this.ctx.storage.delete("smsOtp");
      else await this.ctx.storage.put("smsOtp", c);
      return this.#failed(now, SMS_OTP_LOCK);
    });
  }

  async verifySmsOtp(challengeId: string, code: string): Promise<OtpVerdict> {
    return (await this.checkSmsOtp(challengeId, code)).verdict;
  }

  /**
   * "Phone not reachable, please sign <challenge>": each challenge is accepted once. Shares
   * the lockout with TOTP; a seed that cannot be opened counts as a failure.
   */
  async checkSignedChallenge(challenge: string, code: string): Promise<OfflineCheck> {
    return this.#serial(async () => {
      const now = Date.now();
      const d = await this.ctx.storage.get<DeviceRecord>("device");
      if (!d) return { verdict: "reject", lockout: null };
      if (isLocked(await this.#lockout(), now)) return { verdict: "locked", lockout: null };
      const ok = await this.#guarded("device", async () =>
        checkChallengeResponse(await openSeed(seedKeyFromEnv(this.env), d.seed, d.id), challenge, code),
      );
      if (!ok) return this.#failed(now);
      const key = await sha256Hex(challenge.toUpperCase());
      const used = Object.fromEntries(
        Object.entries((await this.ctx.storage.get<Record<string, number>>("crUsed")) ?? {}).filter(([, t]) => t > now),
      );
      if (key in used) return { verdict: "reject", lockout: null };
      used[key] = now + CR_REPLAY_MS;
      await this.ctx.storage.put("crUsed", used);
      await this.ctx.storage.delete(OFFLINE_LOCK.key);
      return { verdict: "accept", lockout: null };
    });
  }

  async verifyChallengeResponse(challenge: string, code: string): Promise<boolean> {
    return (await this.checkSignedChallenge(challenge, code)).verdict === "accept";
  }

  // ---- internals --------------------------------------------------------------------------

  async #lockout(lock: LockKind = OFFLINE_LOCK): Promise<LockoutState> {
    return (await this.ctx.storage.get<LockoutState>(lock.key)) ?? NO_LOCKOUT;
  }

  /** Counts a wrong code in `lock`; a lock it starts or lengthens is logged as an alert. */
  async #failed(now: number, lock: LockKind = OFFLINE_LOCK): Promise<OfflineCheck> {
    const r = recordFailure(await this.#lockout(lock), now);
    await this.ctx.storage.put(lock.key, r.state);
    if (r.locked) {
      log.warn(lock.event, { alert: true, msisdn: this.#masked(), ...r.locked });
    }
    return { verdict: "reject", lockout: r.locked };
  }

  /** A seed source that throws (cannot be opened, wrong size) matches nothing; logged as an alert. */
  async #guarded<T>(source: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (e) {
      log.error("offline_seed_unusable", { alert: true, msisdn: this.#masked(), source, error: String(e) });
      return null;
    }
  }

  /**
   * The on-prem token's seed, opened with this number as additional data. A token sealed
   * before that binding (LEGACY_TOTP_TOKEN_CONTEXT) is opened once that way and re-sealed.
   */
  async #openToken(token: TotpToken): Promise<Uint8Array> {
    const msisdn = this.ctx.id.name;
    if (!msisdn) throw new Error("Subscriber object has no name (MSISDN)");
    const key = seedKeyFromEnv(this.env);
    try {
      return await openSeed(key, token.seed, totpTokenContext(msisdn));
    } catch {
      const seed = await openSeed(key, token.seed, LEGACY_TOTP_TOKEN_CONTEXT);
      await this.ctx.storage.put("totpToken", { seed: await sealSeed(key, seed, totpTokenContext(msisdn)) } satisfies TotpToken);
      log.info("totp_token_resealed", { msisdn: this.#masked() });
      return seed;
    }
  }

  #masked(): string | undefined {
    return this.ctx.id.name ? maskMsisdn(this.ctx.id.name) : undefined;
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

  async #forget(deviceId: string): Promise<boolean> {
    const d = await this.ctx.storage.get<DeviceRecord>("device");
    if (!d || d.id !== deviceId) return false;
    await this.#clearDeviceState();
    return true;
  }

  /** Drops the device with its replay state and the challenges pushed to it. */
  async #clearDeviceState(): Promise<void> {
    await this.ctx.storage.delete(["device", "totpStep", "crUsed"]);
    const entries = await this.#pending(Date.now());
    for (const e of Object.values(entries)) delete e.challengeId;
    await this.ctx.storage.put("pending", entries);
  }

  /** Stores a new device with a fresh seed (sealed); any pending replacement is void. */
  async #install(id: string, publicKey: DevicePublicKey, subscription: PushSubscriptionJson | null) {
    const seed = newSeed();
    const device: DeviceRecord = {
      id,
      publicKey,
      subscription,
      seed: await sealSeed(seedKeyFromEnv(this.env), seed, id),
      activatedAt: Date.now(),
    };
    await this.ctx.storage.put("device", device);
    await this.ctx.storage.delete(["totpStep", "replacement"]);
    return { id, seed: seedToBase32(seed) };
  }

  /** Live activation grants (entries stored by an earlier version, a bare expiry, are dropped). */
  async #grants(): Promise<Record<string, ActivationGrant>> {
    const all = (await this.ctx.storage.get<Record<string, unknown>>("grants")) ?? {};
    return Object.fromEntries(Object.entries(all).filter((e): e is [string, ActivationGrant] => isActivationGrant(e[1])));
  }

  async #pending(now: number): Promise<Record<string, PendingEntry>> {
    const all = (await this.ctx.storage.get<Record<string, PendingEntry>>("pending")) ?? {};
    return Object.fromEntries(Object.entries(all).filter(([, e]) => e.until > now));
  }

  async #sessionOf(challengeId: string): Promise<string | null> {
    for (const [session, e] of Object.entries(await this.#pending(Date.now()))) {
      if (e.challengeId === challengeId) return session;
    }
    return null;
  }

  async #deviceById(deviceId: string): Promise<DeviceRecord | null> {
    const d = await this.ctx.storage.get<DeviceRecord>("device");
    if (!d || !(await timingSafeEqualString(d.id, deviceId))) return null;
    return d;
  }
}
