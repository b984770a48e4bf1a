import { DurableObject } from "cloudflare:workers";
import { seedKeyFromEnv } from "../workers/config/app-secrets";
import {
  AnswerClaimsSchema,
  DeviceUpdateClaimsSchema,
  type AnswerClaims,
  type DevicePublicKey,
  type PushSubscriptionJson,
} from "../workers/lib/app-schemas";
import { verifyCompactJws } from "../workers/lib/jws";
import { checkChallengeResponse, checkTotp, newSeed, seedToBase32 } from "../workers/lib/otp";
import { admit, type RateLimits } from "../workers/lib/rate-limit";
import { openSeed, sealSeed, type SealedSeed } from "../workers/lib/seed-crypto";
import { randomToken, sha256Hex, timingSafeEqualString } from "../workers/lib/tokens";
import { log } from "../workers/lib/log";

interface SmsOtpChallenge {
  id: string;
  codeHash: string;
  expiresAt: number;
  attempts: number;
}

/** An on-prem TOTP token (hardware token or authenticator app enrolled by an operator). */
interface TotpToken {
  seed: SealedSeed;
}
/** AES-GCM additional data of the on-prem token's seed (device seeds use the device id). */
const TOTP_TOKEN_CONTEXT = "onprem-totp-token";

export type OtpVerdict = "accept" | "reject" | "expired" | "locked";

/** Wrong codes allowed per SMS OTP challenge before it is burnt. */
const MAX_SMS_OTP_ATTEMPTS = 3;

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

export type AdmitResult =
  | { allowed: true; retryAfterMs: 0 }
  | { allowed: false; reason: "rate_limited" | "too_many_pending"; retryAfterMs?: number };

export interface PendingClaim {
  /** Name of the AuthSession object. */
  session: string;
  /** When the entry lapses on its own, should the session never release it. */
  until: number;
  cap: number;
}

export type ActivateResult = { ok: true; deviceId: string; seed: string } | { ok: false };

export interface PushTarget {
  deviceId: string;
  challengeId: string;
  subscription: PushSubscriptionJson;
}

export type AnswerCheck =
  | { ok: true; session: string; claims: AnswerClaims }
  | { ok: false; reason: "unknown_device" | "bad_signature" | "unknown_challenge" };

/** Activation tokens outstanding per number; older ones are dropped beyond this. */
const MAX_GRANTS = 5;
/** A signed device update must be this fresh (clock skew included). */
const UPDATE_WINDOW_MS = 5 * 60_000;
/** Used challenge-response challenges are remembered this long. */
const CR_REPLAY_MS = 15 * 60_000;
/**
 * Wrong offline codes a number may send before checks are refused outright: with ~3 valid
 * TOTP codes in a million at any time, this keeps online guessing hopeless.
 */
export const OFFLINE_FAILURE_LIMITS: RateLimits = { perMinute: 5, perHour: 20 };

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

  /** Stores the hash of a one-time activation token (issued from a live SMS link). */
  async grantActivation(tokenHash: string, expiresAt: number): Promise<void> {
    return this.#serial(async () => {
      const now = Date.now();
      const grants = Object.entries((await this.ctx.storage.get<Record<string, number>>("grants")) ?? {})
        .filter(([, exp]) => exp > now)
        .sort((a, b) => b[1] - a[1])
        .slice(0, MAX_GRANTS - 1);
      await this.ctx.storage.put("grants", Object.fromEntries([[tokenHash, expiresAt], ...grants]));
    });
  }

  /**
   * Binds a device to this number if the token is valid, unexpired and unused. The grant is
   * consumed first, so a token works once even if the rest fails. Replaces any earlier device.
   */
  async activate(
    tokenHash: string,
    publicKey: DevicePublicKey,
    subscription: PushSubscriptionJson | null,
  ): Promise<ActivateResult> {
    return this.#serial(async () => {
      const grants = (await this.ctx.storage.get<Record<string, number>>("grants")) ?? {};
      const expiresAt = grants[tokenHash];
      if (expiresAt === undefined) return { ok: false };
      delete grants[tokenHash];
      await this.ctx.storage.put("grants", grants);
      if (Date.now() >= expiresAt) return { ok: false };

      const id = randomToken();
      const seed = newSeed();
      const device: DeviceRecord = {
        id,
        publicKey,
        subscription,
        seed: await sealSeed(seedKeyFromEnv(this.env), seed, id),
        activatedAt: Date.now(),
      };
      await this.ctx.storage.put("device", device);
      await this.ctx.storage.delete("totpStep");
      return { ok: true, deviceId: id, seed: seedToBase32(seed) };
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
  async updateDevice(deviceId: string, jws: string): Promise<"updated" | "removed" | "refused"> {
    return this.#serial(async () => {
      const d = await this.#deviceById(deviceId);
      if (!d) return "refused";
      const claims = DeviceUpdateClaimsSchema.safeParse(await verifyCompactJws(d.publicKey, jws));
      if (!claims.success || Math.abs(claims.data.iat * 1000 - Date.now()) > UPDATE_WINDOW_MS) return "refused";
      if (claims.data.remove) {
        await this.#forget(d.id);
        return "removed";
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
  async pendingChallenges(deviceId: string): Promise<string[] | null> {
    if (!(await this.#deviceById(deviceId))) return null;
    return Object.values(await this.#pending(Date.now()))
      .map((e) => e.challengeId)
      .filter((c): c is string => c !== undefined);
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
   * time step of each seed counts once. "locked" after too many wrong offline codes.
   */
  async checkTotp(code: string): Promise<OtpVerdict> {
    return this.#serial(async () => {
      if (await this.#lockedOut()) return "locked";
      const key = seedKeyFromEnv(this.env);
      const device = await this.ctx.storage.get<DeviceRecord>("device");
      const token = await this.ctx.storage.get<TotpToken>("totpToken");
      const sources: Array<{ seed: Uint8Array; stepKey: string }> = [];
      if (device) sources.push({ seed: await openSeed(key, device.seed, device.id), stepKey: "totpStep" });
      if (token) sources.push({ seed: await openSeed(key, token.seed, TOTP_TOKEN_CONTEXT), stepKey: "tokenStep" });
      if (sources.length === 0) return "reject";
      for (const { seed, stepKey } of sources) {
        const r = await checkTotp(seed, code, Date.now(), await this.ctx.storage.get<number>(stepKey));
        if (!r.valid) continue;
        // Re-read after the awaits: a concurrent check of the same code must not pass twice.
        const again = await this.ctx.storage.get<number>(stepKey);
        if (again !== undefined && again >= r.timeStep) return "reject";
        await this.ctx.storage.put(stepKey, r.timeStep);
        return "accept";
      }
      await this.#failed();
      return "reject";
    });
  }

  /** TOTP check as a yes/no (the app's offline-code API). */
  async verifyTotp(code: string): Promise<boolean> {
    return (await this.checkTotp(code)) === "accept";
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
   * replaces any earlier one: only the latest code sent is valid.
   */
  async startSmsOtp(code: string, ttlMs: number): Promise<string> {
    return this.#serial(async () => {
      const challenge: SmsOtpChallenge = { id: randomToken(16), codeHash: await sha256Hex(code), expiresAt: Date.now() + ttlMs, attempts: 0 };
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

  /** Single use: the challenge is gone after a correct code, expiry, or too many wrong codes. */
  async verifySmsOtp(challengeId: string, code: string): Promise<OtpVerdict> {
    return this.#serial(async () => {
      const c = await this.ctx.storage.get<SmsOtpChallenge>("smsOtp");
      if (!c || !(await timingSafeEqualString(c.id, challengeId))) return "expired";
      if (Date.now() >= c.expiresAt) {
        await this.ctx.storage.delete("smsOtp");
        return "expired";
      }
      if (await timingSafeEqualString(c.codeHash, await sha256Hex(code.trim()))) {
        await this.ctx.storage.delete("smsOtp");
        return "accept";
      }
      c.attempts++;
      if (c.attempts >= MAX_SMS_OTP_ATTEMPTS) await this.ctx.storage.delete("smsOtp");
      else await this.ctx.storage.put("smsOtp", c);
      return "reject";
    });
  }

  /** "Phone not reachable, please sign <challenge>": each challenge is accepted once. */
  async verifyChallengeResponse(challenge: string, code: string): Promise<boolean> {
    return this.#serial(async () => {
      const d = await this.ctx.storage.get<DeviceRecord>("device");
      if (!d || (await this.#lockedOut())) return false;
      const seed = await openSeed(seedKeyFromEnv(this.env), d.seed, d.id);
      if (!(await checkChallengeResponse(seed, challenge, code))) return this.#failed();
      const now = Date.now();
      const key = await sha256Hex(challenge.toUpperCase());
      const used = Object.fromEntries(
        Object.entries((await this.ctx.storage.get<Record<string, number>>("crUsed")) ?? {}).filter(([, t]) => t > now),
      );
      if (key in used) return false;
      used[key] = now + CR_REPLAY_MS;
      await this.ctx.storage.put("crUsed", used);
      return true;
    });
  }

  // ---- internals --------------------------------------------------------------------------

  /** Too many wrong offline codes lately: refuse without checking (and without counting). */
  async #lockedOut(): Promise<boolean> {
    const fails = (await this.ctx.storage.get<number[]>("offlineFails")) ?? [];
    const locked = !admit(fails, OFFLINE_FAILURE_LIMITS, Date.now()).allowed;
    if (locked) log.warn("offline_code_lockout");
    return locked;
  }

  async #failed(): Promise<false> {
    const fails = (await this.ctx.storage.get<number[]>("offlineFails")) ?? [];
    await this.ctx.storage.put("offlineFails", admit(fails, OFFLINE_FAILURE_LIMITS, Date.now()).history);
    return false;
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
    await this.ctx.storage.delete(["device", "totpStep", "crUsed"]);
    const entries = await this.#pending(Date.now());
    for (const e of Object.values(entries)) delete e.challengeId;
    await this.ctx.storage.put("pending", entries);
    return true;
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
