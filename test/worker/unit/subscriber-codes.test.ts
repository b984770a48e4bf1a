import { describe, expect, it } from "vitest";
import { CR_REPLAY_MS, liveUsedChallenges, usedChallengeKey } from "../../../workers/objects/subscriber/offline-codes";
import { MAX_SMS_OTP_ATTEMPTS, SmsOtp, afterWrongCode } from "../../../workers/objects/subscriber/sms-otp";
import { type SmsOtpChallenge, SubscriberStore } from "../../../workers/objects/subscriber/store";
import { base64url } from "../../../core/base64url";

describe("Subscriber offline codes: used signed challenges", () => {
  it("forgets a used challenge once its replay window passed", () => {
    const now = 2_000_000;
    const used = { old: now - 1, endsNow: now, recent: now + CR_REPLAY_MS };
    expect(liveUsedChallenges(used, now)).toEqual({ recent: now + CR_REPLAY_MS });
    expect(liveUsedChallenges({}, now)).toEqual({});
  });

  it("remembers a challenge regardless of case, as a hash (not the challenge itself)", async () => {
    const key = await usedChallengeKey("ab12cd");
    expect(key).toBe(await usedChallengeKey("AB12CD"));
    expect(key).not.toBe(await usedChallengeKey("AB12CE"));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("Subscriber SMS OTP: wrong codes", () => {
  it("counts wrong codes on the challenge and burns it at the limit", () => {
    let challenge: SmsOtpChallenge = { id: "c", codeMac: "m", expiresAt: 9, attempts: 0 };
    for (let wrong = 1; wrong < MAX_SMS_OTP_ATTEMPTS; wrong++) {
      const next = afterWrongCode(challenge);
      expect(next).toEqual({ ...challenge, attempts: wrong });
      if (!next) return;
      challenge = next;
    }
    expect(afterWrongCode(challenge)).toBeNull();
    expect(MAX_SMS_OTP_ATTEMPTS).toBe(3);
  });
});

/**
 * A Subscriber's storage in memory. `holdNextRead`: the next get reads at once but answers
 * only when released, as a storage read that later writes overtake.
 */
function memoryStorage() {
  const data = new Map<string, unknown>();
  let holding = false;
  let release: () => void = () => {};
  const copy = <T>(v: T): T => (v === undefined ? v : structuredClone(v));
  const storage = {
    async get(key: string | string[]) {
      const value = Array.isArray(key) ? new Map(key.filter((k) => data.has(k)).map((k) => [k, copy(data.get(k))])) : copy(data.get(key));
      if (holding) {
        holding = false;
        await new Promise<void>((resolve) => (release = resolve));
      }
      return value;
    },
    async put(key: string | Record<string, unknown>, value?: unknown) {
      if (typeof key === "string") data.set(key, copy(value));
      else for (const [k, v] of Object.entries(key)) data.set(k, copy(v));
    },
    async delete(key: string | string[]) {
      if (Array.isArray(key)) return key.filter((k) => data.delete(k)).length;
      return data.delete(key);
    },
  };
  return {
    data,
    storage: storage as unknown as DurableObjectStorage,
    holdNextRead: () => void (holding = true),
    release: () => release(),
  };
}

describe("Subscriber SMS OTP: when the owed SMS falls due", () => {
  const seed = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
  const fallback = (graceMs: number) => ({ to: "+46701234567", text: "Your login code is 123456", graceMs });

  it("agrees with what is stored after every step that writes the challenge", async () => {
    const mem = memoryStorage();
    const key = seed();
    const otp = new SmsOtp(new SubscriberStore(mem.storage), () => key, "+4670****567");
    const stored = () => (mem.data.get("smsOtp") as SmsOtpChallenge | undefined)?.owedSms?.at ?? null;
    const agrees = async () => expect(await otp.owedAt()).toBe(stored());

    await agrees(); // none: read once, then known
    const first = await otp.start("123456", 60_000, fallback(5_000));
    expect(stored()).not.toBeNull();
    await agrees();
    expect(await otp.takeOwed(first!)).toBe(true);
    await agrees();
    const second = await otp.start("234567", 60_000, fallback(5_000));
    await agrees();
    await otp.cancel(second!);
    await agrees();
    const third = await otp.start("345678", 60_000, fallback(0));
    await agrees();
    const due = await otp.takeDue(Date.now() + 1);
    expect(due.sms?.text).toBe("Your login code is 123456");
    await agrees();
    await otp.start("456789", 60_000, fallback(5_000));
    await agrees();
    expect((await otp.check(third!, "456789")).verdict).toBe("expired"); // an earlier challenge's id
    await agrees();
    const fourth = await otp.start("567890", 60_000, fallback(5_000));
    expect((await otp.check(fourth!, "000000")).verdict).toBe("reject");
    await agrees(); // a wrong code keeps the challenge, and what it owes
    expect((await otp.check(fourth!, "567890")).verdict).toBe("accept");
    await agrees();
    await otp.start("678901", 60_000);
    await agrees(); // no fallback: nothing owed
  });

  it("a read that a write overtook answers what the write stored, and leaves nothing older behind", async () => {
    const mem = memoryStorage();
    const key = seed();
    const otp = new SmsOtp(new SubscriberStore(mem.storage), () => key, undefined);
    mem.holdNextRead();
    const early = otp.owedAt(); // reads storage: nothing owed yet, answered after the write
    await otp.start("123456", 60_000, fallback(5_000));
    mem.release();
    const at = (mem.data.get("smsOtp") as SmsOtpChallenge).owedSms?.at;
    expect(at).toBeGreaterThan(Date.now());
    expect(await early).toBe(at);
    expect(await otp.owedAt()).toBe(at);
  });
});
