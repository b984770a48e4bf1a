// What an endpoint's approval policy makes of an app's answer, and the challenge an assertion must sign.
import { describe, expect, it } from "vitest";
import { approvalChallenge, approvalVerdict, deviceApproval, registrationChallenge } from "../../../core/user-verification";

const UV = { approval: "user-verification", fallback: "refuse" } as const;
const UV_TAP = { approval: "user-verification", fallback: "tap" } as const;
const TAP = { approval: "tap", fallback: "refuse" } as const;

describe("approval policy", () => {
  it("what a device must do to Accept", () => {
    expect(deviceApproval(TAP, false)).toBe("tap");
    expect(deviceApproval(UV, true)).toBe("user-verification");
    expect(deviceApproval(UV, false)).toBe("unavailable");
    expect(deviceApproval(UV_TAP, false)).toBe("tap");
  });

  it("an Accept under user verification counts only with a verified assertion; a Reject always", () => {
    expect(approvalVerdict(UV, "accept", true, "verified")).toBe("ok");
    expect(approvalVerdict(UV, "accept", true, "missing")).toBe("uv_required");
    expect(approvalVerdict(UV, "accept", true, "invalid")).toBe("uv_required");
    expect(approvalVerdict(UV, "accept", false, "missing")).toBe("uv_unavailable");
    expect(approvalVerdict(UV_TAP, "accept", false, "missing")).toBe("ok");
    // A device that has a credential cannot fall back to a tap by leaving the assertion out.
    expect(approvalVerdict(UV_TAP, "accept", true, "missing")).toBe("uv_required");
    for (const proof of ["verified", "missing", "invalid"] as const) {
      expect(approvalVerdict(UV, "reject", false, proof)).toBe("ok");
      expect(approvalVerdict(TAP, "accept", false, proof)).toBe("ok");
    }
  });

  it("the approval challenge is bound to challenge, nonce and decision", async () => {
    const base = await approvalChallenge("c", "n", "accept");
    expect(base).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await approvalChallenge("c", "n", "accept")).toBe(base);
    for (const other of [
      await approvalChallenge("c2", "n", "accept"),
      await approvalChallenge("c", "n2", "accept"),
      await approvalChallenge("c", "n", "reject"),
      await registrationChallenge("c"),
    ]) {
      expect(other).not.toBe(base);
    }
  });
});
