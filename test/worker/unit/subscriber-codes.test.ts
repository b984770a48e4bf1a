import { describe, expect, it } from "vitest";
import { CR_REPLAY_MS, liveUsedChallenges, usedChallengeKey } from "../../../workers/objects/subscriber/offline-codes";
import { MAX_SMS_OTP_ATTEMPTS, afterWrongCode } from "../../../workers/objects/subscriber/sms-otp";
import type { SmsOtpChallenge } from "../../../workers/objects/subscriber/store";

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
