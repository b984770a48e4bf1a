import { describe, expect, it } from "vitest";
import { groupedCode, otpHomeText, otpNotification, parseOtpPush } from "../../../client/otp-push";

const now = 1_800_000_000_000;
const push = { k: "otp", o: "AbCdEfGhIjKlMnOpQrStUv", code: "123456", x: String(now + 5 * 60_000) };

describe("a login code pushed to the app (client/otp-push.ts)", () => {
  it("reads a well-formed login-code push and nothing else", () => {
    expect(parseOtpPush(push, now)).toEqual({ challengeId: push.o, code: "123456", expiresAt: now + 5 * 60_000 });
    expect(parseOtpPush({ c: "x".repeat(43) }, now)).toBeNull(); // a sign-in push
    expect(parseOtpPush({ ...push, k: "other" }, now)).toBeNull();
    expect(parseOtpPush({ ...push, code: "12345" }, now)).toBeNull();
    expect(parseOtpPush({ ...push, code: "<b>123456</b>" }, now)).toBeNull();
    expect(parseOtpPush({ ...push, o: "short" }, now)).toBeNull();
    expect(parseOtpPush({ ...push, x: String(now) }, now)).toBeNull(); // expired
    expect(parseOtpPush({ ...push, x: "soon" }, now)).toBeNull();
    expect(parseOtpPush(null, now)).toBeNull();
  });

  it("shows the code grouped, with how long it is valid, and hides it once expired", () => {
    expect(groupedCode("123456")).toBe("123 456");
    expect(groupedCode("12345678")).toBe("1234 5678");
    const notice = parseOtpPush(push, now);
    if (!notice) throw new Error("not parsed");
    expect(otpNotification(notice, now)).toEqual({
      title: "Login code 123 456",
      body: "Type it at the login prompt you just saw. Valid for 5 minutes. Never tell it to anyone.",
    });
    expect(otpHomeText(notice, now + 4.5 * 60_000)).toContain("valid for 1 minute");
    expect(otpHomeText(notice, now + 5 * 60_000)).toBeNull();
  });
});
