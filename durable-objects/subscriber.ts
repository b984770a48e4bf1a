import { DurableObject } from "cloudflare:workers";
import { verifyTotpCode } from "../workers/lib/otp";
import { admit, type RateDecision, type RateLimits } from "../workers/lib/rate-limit";
import { decryptSeed } from "../workers/lib/seed-crypto";
import { randomToken, sha256Hex, timingSafeEqualString } from "../workers/lib/tokens";

interface SmsOtpChallenge {
  id: string;
  codeHash: string;
  expiresAt: number;
  attempts: number;
}

interface TotpToken {
  /** AES-GCM sealed base32 seed (see seed-crypto), bound to this MSISDN. */
  sealedSeed: string;
  /** Last RFC 6238 step accepted: a code is good once. */
  lastStep?: number;
}

export type OtpVerdict = "accept" | "reject" | "expired" | "locked";

/** Wrong codes allowed per SMS OTP challenge, and per TOTP lockout window. */
const MAX_OTP_ATTEMPTS = 3;
const TOTP_FAILURE_LIMITS: RateLimits = { perMinute: 5, perHour: 20 };

/**
 * One object per MSISDN (named by it). Holds the subscriber's rate-limit history, its
 * outstanding SMS OTP challenge and its on-prem TOTP token. Per-number objects keep a busy
 * number from slowing anyone else down.
 */
export class Subscriber extends DurableObject<Env> {
  /** Records an authentication attempt if the limits allow it. */
  async admit(limits: RateLimits): Promise<Pick<RateDecision, "allowed" | "retryAfterMs">> {
    const history = (await this.ctx.storage.get<number[]>("rate")) ?? [];
    const decision = admit(history, limits, Date.now());
    await this.ctx.storage.put("rate", decision.history);
    return { allowed: decision.allowed, retryAfterMs: decision.retryAfterMs };
  }

  /**
   * Starts an SMS OTP challenge for `code` (the caller sends the SMS). A new challenge
   * replaces any earlier one: only the latest code sent is valid.
   */
  async startSmsOtp(code: string, ttlMs: number): Promise<string> {
    const challenge: SmsOtpChallenge = {
      id: randomToken(16),
      codeHash: await sha256Hex(code),
      expiresAt: Date.now() + ttlMs,
      attempts: 0,
    };
    await this.ctx.storage.put("smsOtp", challenge);
    return challenge.id;
  }

  async cancelSmsOtp(challengeId: string): Promise<void> {
    const c = await this.ctx.storage.get<SmsOtpChallenge>("smsOtp");
    if (c?.id === challengeId) await this.ctx.storage.delete("smsOtp");
  }

  /** Single use: the challenge is gone after a correct code, expiry, or too many wrong codes. */
  async verifySmsOtp(challengeId: string, code: string): Promise<OtpVerdict> {
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
    if (c.attempts >= MAX_OTP_ATTEMPTS) await this.ctx.storage.delete("smsOtp");
    else await this.ctx.storage.put("smsOtp", c);
    return "reject";
  }

  async setTotpToken(sealedSeed: string): Promise<void> {
    await this.ctx.storage.put("totp", { sealedSeed } satisfies TotpToken);
  }

  async removeTotpToken(): Promise<boolean> {
    return this.ctx.storage.delete("totp");
  }

  async hasTotpToken(): Promise<boolean> {
    return (await this.ctx.storage.get("totp")) !== undefined;
  }

  /** Checks a TOTP code; wrong codes count toward a lockout so 6 digits cannot be guessed. */
  async verifyTotp(msisdn: string, code: string): Promise<OtpVerdict> {
    const token = await this.ctx.storage.get<TotpToken>("totp");
    if (!token) return "reject";
    const failures = (await this.ctx.storage.get<number[]>("totpFailures")) ?? [];
    const now = Date.now();
    const budget = admit(failures, TOTP_FAILURE_LIMITS, now);
    if (!budget.allowed) return "locked";
    const seed = await decryptSeed(this.env, token.sealedSeed, msisdn);
    const r = await verifyTotpCode(seed, code.trim(), token.lastStep);
    if (r.valid) {
      await this.ctx.storage.put("totp", { ...token, lastStep: r.timeStep });
      return "accept";
    }
    await this.ctx.storage.put("totpFailures", budget.history);
    return "reject";
  }
}
