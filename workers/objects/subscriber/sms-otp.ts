/**
 * SMS OTP (RADIUS challenge-response): the number's one live challenge (only the latest code
 * sent is valid), stored as a keyed MAC, single use, with a lockout of its own. When the code
 * went to the number's app by push, the SMS it owes waits here (sealed) until it is due, a
 * device acknowledges the push, or the challenge ends; the object's alarm sends it.
 */
import { smsOtpMac, smsOtpMacKey } from "../../../core/sms-otp-mac";
import { openOwedText, sealOwedText } from "../../../core/sms-otp-sealing";
import type { SmsMessage } from "../../sms/provider";
import { randomToken, timingSafeEqualString } from "../../../core/tokens";
import type { OfflineCheck, SmsOtpPush } from "./contract";
import { countWrongCode, isLockedNow, type LockKind } from "./lockouts";
import type { SmsOtpChallenge, SubscriberKey, SubscriberStore } from "./store";

/** Wrong codes allowed per SMS OTP challenge before it is burnt. */
export const MAX_SMS_OTP_ATTEMPTS = 3;

/**
 * SMS OTP codes, counted across challenges. A lock of its own, not the offline one: the
 * offline API lets any endpoint with `offlineCodes` lock a number's offline codes, and sharing
 * would let it lock RADIUS SMS OTP sign-in too; and a user's mistyped SMS codes should not take
 * their offline fallback away. Each kind keeps its own ~380 guesses a year.
 */
export const SMS_OTP_LOCK: LockKind = { key: "smsOtpLock", event: "sms_otp_lockout" };

/** The challenge after one more wrong code, or null when that burns it. */
export function afterWrongCode(challenge: SmsOtpChallenge): SmsOtpChallenge | null {
  const attempts = challenge.attempts + 1;
  return attempts >= MAX_SMS_OTP_ATTEMPTS ? null : { ...challenge, attempts };
}

/** Starting, cancelling and checking SMS OTP challenges; every method runs inside #serial. */
export class SmsOtp {
  readonly #store: SubscriberStore;
  readonly #seedKey: () => string;
  readonly #masked: string | undefined;
  /**
   * When the stored challenge's owed SMS falls due (null: none owed), as last written here;
   * undefined until read. The object reschedules its alarm after every session step, and most
   * numbers never have a challenge: without this each step read the key again. Every write of
   * "smsOtp" goes through #put / #delete (nothing else in the object writes the key), which
   * set it before their await, so it is what storage holds once the writes issued are applied.
   */
  #owedAt: number | null | undefined;
  /** Writes issued: a read that a write overtook must not set #owedAt. */
  #writes = 0;

  constructor(store: SubscriberStore, seedKey: () => string, masked: string | undefined) {
    this.#store = store;
    this.#seedKey = seedKey;
    this.#masked = masked;
  }

  /**
   * Starts an SMS OTP challenge for `code` (the caller sends the SMS). A new challenge
   * replaces any earlier one: only the latest code sent is valid. Null while the number's SMS
   * OTP is locked (SMS_OTP_LOCK): no code is worth sending then.
   */
  async start(code: string, ttlMs: number, fallback?: SmsOtpPush): Promise<string | null> {
    const now = Date.now();
    if (await isLockedNow(this.#store, SMS_OTP_LOCK, now)) return null;
    const id = randomToken(16);
    const codeMac = await smsOtpMac(await smsOtpMacKey(this.#seedKey()), id, code);
    const owedSms = fallback
      ? { at: now + fallback.graceMs, to: fallback.to, text: await sealOwedText(this.#seedKey(), id, fallback.text) }
      : undefined;
    await this.#put({ id, codeMac, expiresAt: now + ttlMs, attempts: 0, ...(owedSms ? { owedSms } : {}) });
    return id;
  }

  async cancel(challengeId: string): Promise<void> {
    const challenge = await this.#store.get("smsOtp");
    if (challenge?.id === challengeId) await this.#delete();
  }

  /**
   * The challenge's owed SMS is no longer owed (a device acknowledged the push, or the caller
   * sends it itself). True only for the one caller that took it while it was still owed.
   */
  async takeOwed(challengeId: string): Promise<boolean> {
    const challenge = await this.#store.get("smsOtp");
    if (!challenge?.owedSms || !(await timingSafeEqualString(challenge.id, challengeId))) return false;
    const { owedSms: _taken, ...rest } = challenge;
    await this.#put(rest);
    return true;
  }

  /** When the owed SMS falls due (the object's alarm must run then), or null: none owed. */
  async owedAt(): Promise<number | null> {
    if (this.#owedAt !== undefined) return this.#owedAt;
    const writes = this.#writes;
    const owedAt = (await this.#store.get("smsOtp"))?.owedSms?.at ?? null;
    if (writes === this.#writes) this.#owedAt = owedAt;
    // A write that overtook the read set the fresher value.
    return this.#owedAt !== undefined ? this.#owedAt : owedAt;
  }

  /**
   * The owed SMS if it is due at `now` (taken: deleted before it is sent, so a retried alarm
   * cannot send it twice); none for an ended challenge. `next`: when to look again.
   */
  async takeDue(now: number): Promise<{ sms: SmsMessage | null; next: number | null }> {
    const challenge = await this.#store.get("smsOtp");
    const owed = challenge?.owedSms;
    if (!challenge || !owed) return { sms: null, next: null };
    if (now >= challenge.expiresAt) {
      await this.#delete();
      return { sms: null, next: null };
    }
    if (now < owed.at) return { sms: null, next: owed.at };
    const { owedSms: _taken, ...rest } = challenge;
    await this.#put(rest);
    const text = await openOwedText(this.#seedKey(), challenge.id, owed.text);
    return { sms: { to: owed.to, text, link: "" }, next: null };
  }

  /**
   * Single use: the challenge is gone after a correct code, expiry, or too many wrong codes.
   * Every wrong code also counts in the number's SMS OTP lockout (SMS_OTP_LOCK), across
   * challenges: a new challenge no longer buys fresh guesses. "locked": not checked.
   */
  async check(challengeId: string, code: string): Promise<OfflineCheck> {
    const now = Date.now();
    if (await isLockedNow(this.#store, SMS_OTP_LOCK, now)) return { verdict: "locked", lockout: null };
    const challenge = await this.#store.get("smsOtp");
    if (!challenge || !(await timingSafeEqualString(challenge.id, challengeId))) return { verdict: "expired", lockout: null };
    if (now >= challenge.expiresAt) {
      await this.#delete();
      return { verdict: "expired", lockout: null };
    }
    // A challenge stored before the keyed MAC has no codeMac: it cannot match (lapses in 5 min).
    const mac = await smsOtpMac(await smsOtpMacKey(this.#seedKey()), challenge.id, code.trim());
    if (challenge.codeMac !== undefined && (await timingSafeEqualString(challenge.codeMac, mac))) {
      await this.#delete(SMS_OTP_LOCK.key);
      return { verdict: "accept", lockout: null };
    }
    const next = afterWrongCode(challenge);
    if (next) await this.#put(next);
    else await this.#delete();
    return countWrongCode(this.#store, SMS_OTP_LOCK, now, this.#masked);
  }

  #put(challenge: SmsOtpChallenge): Promise<void> {
    this.#wrote(challenge.owedSms?.at ?? null);
    return this.#store.put("smsOtp", challenge);
  }

  /** Deletes the challenge (and `alsoKey` in the same call). */
  async #delete(alsoKey?: SubscriberKey): Promise<void> {
    this.#wrote(null);
    if (alsoKey) await this.#store.delete(["smsOtp", alsoKey]);
    else await this.#store.delete("smsOtp");
  }

  #wrote(owedAt: number | null): void {
    this.#writes++;
    this.#owedAt = owedAt;
  }
}
