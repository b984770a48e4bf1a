import { describe, expect, it } from "vitest";
import { base64url } from "../../../core/base64url";
import { smsOtpMac, smsOtpMacKey } from "../../../core/sms-otp-mac";
import { sha256Hex } from "../../../core/tokens";

const rawKey = base64url(crypto.getRandomValues(new Uint8Array(32)));

describe("SMS OTP at rest: keyed MAC over challenge id and code", () => {
  it("is deterministic under one key and differs from the bare SHA-256 of the code", async () => {
    const key = await smsOtpMacKey(rawKey);
    const mac = await smsOtpMac(key, "chal-1", "123456");
    expect(mac).toMatch(/^[0-9a-f]{64}$/);
    expect(await smsOtpMac(await smsOtpMacKey(rawKey), "chal-1", "123456")).toBe(mac);
    expect(mac).not.toBe(await sha256Hex("123456"));
  });

  it("depends on the key, the challenge id and the code", async () => {
    const key = await smsOtpMacKey(rawKey);
    const other = await smsOtpMacKey(base64url(crypto.getRandomValues(new Uint8Array(32))));
    const mac = await smsOtpMac(key, "chal-1", "123456");
    expect(await smsOtpMac(other, "chal-1", "123456")).not.toBe(mac);
    expect(await smsOtpMac(key, "chal-2", "123456")).not.toBe(mac);
    expect(await smsOtpMac(key, "chal-1", "123457")).not.toBe(mac);
  });

  it("is not the HMAC under the raw seed key itself (HKDF gives it its own key)", async () => {
    const direct = await crypto.subtle.importKey(
      "raw",
      Uint8Array.from(atob(`${rawKey.replace(/-/g, "+").replace(/_/g, "/")}=`), (ch) => ch.charCodeAt(0)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const viaRaw = [...new Uint8Array(await crypto.subtle.sign("HMAC", direct, new TextEncoder().encode("chal-1:123456")))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    expect(await smsOtpMac(await smsOtpMacKey(rawKey), "chal-1", "123456")).not.toBe(viaRaw);
  });
});
