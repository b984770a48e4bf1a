import { describe, expect, it } from "vitest";
import { challengeResponseCode, checkChallengeResponse, checkTotp, seedFromBase32, seedToBase32, totpCode } from "../../../core/otp";

// RFC 6238 Appendix B test seed (SHA-1): "12345678901234567890".
const RFC_SEED = new TextEncoder().encode("12345678901234567890");

describe("TOTP (RFC 6238)", () => {
  it.each([
    [59, "287082"],
    [1111111109, "081804"],
    [1234567890, "005924"],
    [2000000000, "279037"],
  ])("matches the RFC 6238 vector at T=%i", async (t, code) => {
    // The RFC lists 8 digits; the app uses 6, which are the last 6 of the same value.
    expect(await totpCode(RFC_SEED, t * 1000)).toBe(code);
  });

  it("accepts one step of clock drift either way, not two", async () => {
    const now = 1_700_000_000_000;
    for (const [offset, ok] of [
      [-30_000, true],
      [30_000, true],
      [-60_000, false],
      [60_000, false],
    ] as const) {
      const code = await totpCode(RFC_SEED, now + offset);
      expect((await checkTotp(RFC_SEED, code, now)).valid).toBe(ok);
    }
  });

  it("refuses a time step at or before the last one used (replay)", async () => {
    const now = 1_700_000_000_000;
    const code = await totpCode(RFC_SEED, now);
    const first = await checkTotp(RFC_SEED, code, now);
    expect(first.valid).toBe(true);
    const step = (first as { timeStep: number }).timeStep;
    expect(step).toBe(Math.floor(now / 30_000));
    expect((await checkTotp(RFC_SEED, code, now, step)).valid).toBe(false);
    const next = await totpCode(RFC_SEED, now + 30_000);
    expect((await checkTotp(RFC_SEED, next, now + 30_000, step)).valid).toBe(true);
  });

  it("refuses malformed codes", async () => {
    for (const c of ["", "12345", "1234567", "abcdef", "12 345"]) expect((await checkTotp(RFC_SEED, c, 0)).valid).toBe(false);
  });

  it("round-trips the seed through base32", () => {
    const b32 = seedToBase32(RFC_SEED);
    expect(b32).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    expect(seedFromBase32(b32)).toEqual(RFC_SEED);
  });
});

describe("challenge-response codes", () => {
  it("is 8 digits, deterministic, and depends on seed and challenge", async () => {
    const a = await challengeResponseCode(RFC_SEED, "482913");
    expect(a).toMatch(/^\d{8}$/);
    expect(await challengeResponseCode(RFC_SEED, "482913")).toBe(a);
    expect(await challengeResponseCode(RFC_SEED, "482914")).not.toBe(a);
    expect(await challengeResponseCode(new Uint8Array(20), "482913")).not.toBe(a);
  });

  it("treats letters case-insensitively (people retype what they see)", async () => {
    expect(await challengeResponseCode(RFC_SEED, "ab12cd")).toBe(await challengeResponseCode(RFC_SEED, "AB12CD"));
  });

  it("verifies only the right code for the right challenge", async () => {
    const code = await challengeResponseCode(RFC_SEED, "482913");
    expect(await checkChallengeResponse(RFC_SEED, "482913", code)).toBe(true);
    expect(await checkChallengeResponse(RFC_SEED, "482914", code)).toBe(false);
    const wrong = String((Number(code) + 1) % 1e8).padStart(8, "0");
    expect(await checkChallengeResponse(RFC_SEED, "482913", wrong)).toBe(false);
    expect(await checkChallengeResponse(RFC_SEED, "48", code)).toBe(false);
    expect(await checkChallengeResponse(RFC_SEED, "482913", code.slice(0, 6))).toBe(false);
  });

  it("is not a TOTP code of the same seed (domain separated)", async () => {
    const step = "56666666"; // a TOTP counter written as a challenge
    const cr = await challengeResponseCode(RFC_SEED, step);
    expect(cr.slice(-6)).not.toBe(await totpCode(RFC_SEED, Number(step) * 30_000));
  });
});

describe("TOTP seed sizes", () => {
  it("only 16-64 byte seeds are usable; checkTotp reports others as a fault, not as a wrong code", async () => {
    const { isUsableSeedLength } = await import("../../../core/otp");
    expect([15, 16, 20, 64, 65].map(isUsableSeedLength)).toEqual([false, true, true, true, false]);
    await expect(checkTotp(new Uint8Array(10), "123456", Date.now())).rejects.toThrow(RangeError);
    await expect(checkTotp(new Uint8Array(65), "123456", Date.now())).rejects.toThrow(RangeError);
  });
});
