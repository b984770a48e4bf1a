import { describe, expect, it } from "vitest";
import {
  ACTIVATION_CODE_PATTERN,
  REPLACEMENT_CLAIM_MS,
  activationCodeMac,
  isActivationGrant,
  replacementPhase,
} from "../../../core/device-activation";

describe("device activation rules", () => {
  it("the code's MAC depends on the token and the code, and is not the code", async () => {
    const mac = await activationCodeMac("T".repeat(43), "123456");
    expect(mac).toMatch(/^[0-9a-f]{64}$/);
    expect(mac).not.toContain("123456");
    expect(await activationCodeMac("T".repeat(43), "123456")).toBe(mac);
    expect(await activationCodeMac("U".repeat(43), "123456")).not.toBe(mac);
    expect(await activationCodeMac("T".repeat(43), "123457")).not.toBe(mac);
  });

  it("a replacement waits until effectiveAt, is claimable for a week after, then lapses", () => {
    const r = { effectiveAt: 1_000_000 };
    expect(replacementPhase(r, 999_999)).toBe("waiting");
    expect(replacementPhase(r, 1_000_000)).toBe("due");
    expect(replacementPhase(r, 1_000_000 + REPLACEMENT_CLAIM_MS - 1)).toBe("due");
    expect(replacementPhase(r, 1_000_000 + REPLACEMENT_CLAIM_MS)).toBe("lapsed");
  });

  it("codes are six digits; grants stored by the earlier version (a bare expiry) are not grants", () => {
    expect(ACTIVATION_CODE_PATTERN.test("012345")).toBe(true);
    for (const bad of ["12345", "1234567", "12345a", " 123456"]) expect(ACTIVATION_CODE_PATTERN.test(bad)).toBe(false);
    expect(isActivationGrant(Date.now())).toBe(false);
    expect(isActivationGrant({ expiresAt: 1, codeMac: "ab", attempts: 0 })).toBe(true);
  });
});
