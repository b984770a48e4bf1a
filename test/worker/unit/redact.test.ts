import { afterEach, describe, expect, it, vi } from "vitest";
import { logEvent } from "../../../workers/lib/log";
import { cap, maskLongTokens, redact, redactPath } from "../../../core/redact";
import { randomToken } from "../../../core/tokens";

const token = randomToken();

describe("redact", () => {
  it("removes link tokens from paths and URLs, with anything after them", () => {
    expect(redact(`/m/${token}`)).toBe("/m/[redacted]");
    expect(redact(`/m/${token}/answer`)).toBe("/m/[redacted]");
    expect(redact(`GET https://mfa.example.com/m/${token}?x=1 failed`)).toBe("GET https://mfa.example.com/m/[redacted]?x=1 failed");
    // Whatever an attacker puts there is gone too (not only well-formed tokens).
    expect(redact("/m/short-but-live")).toBe("/m/[redacted]");
  });

  it("removes bearer tokens, api keys, passwords and activation fragments", () => {
    expect(redact("authorization: Bearer abc.def.ghi")).toBe("authorization: Bearer [redacted]");
    expect(redact("Bearer abc.def")).toBe("Bearer [redacted]");
    expect(redact('{"api-key":"key-default-0123"}')).toBe('{"api-key":"[redacted]"}');
    expect(redact("api_key=k123&x=1")).toBe("api_key=[redacted]&x=1");
    expect(redact("password=hunter2")).toBe("password=[redacted]");
    expect(redact(`/app/#activate=${token.slice(0, 20)}&msisdn=%2B4670`)).toBe("/app/#activate=[redacted]&msisdn=%2B4670");
  });

  it("removes one-time codes next to the word code, not other numbers", () => {
    expect(redact("Your login code is 123456")).toBe("Your login code is [redacted]");
    expect(redact('{"code":"12345678"}')).toBe('{"code":"[redacted]"}');
    expect(redact('{"latencyMs":123456,"status":503}')).toBe('{"latencyMs":123456,"status":503}');
    expect(redact('{"code":"TOUCH_ACCEPTED"}')).toBe('{"code":"TOUCH_ACCEPTED"}');
  });

  it("removes any long base64url run (every token minted here is 43 characters)", () => {
    expect(redact(`echo: ${token} done`)).toBe("echo: [redacted] done");
    expect(redact("session abcdef123456")).toBe("session abcdef123456");
    // Event and audit action names are lower-case words, however long: they stay readable.
    expect(redact('{"action":"app_device_replacement_requested"}')).toBe('{"action":"app_device_replacement_requested"}');
    expect(redact("a 64-hex digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")).toBe("a 64-hex digest [redacted]");
    // The audit writer keeps identifiers it chose to store (device ids), still without links.
    expect(redact(`device ${token} /m/${token}`, { anyLongToken: false })).toBe(`device ${token} /m/[redacted]`);
  });

  it("the long-run scan gives the rule's regular expression's answer on any text", () => {
    const rule = /(?=[A-Za-z0-9_-]*[A-Z0-9])[A-Za-z0-9_-]{32,}/g;
    // Runs near the 32 threshold, with and without a capital or digit, at either end of the text.
    const alphabet = ["a", "z", "A", "Z", "0", "9", "_", "-", " ", '"', ":", "/", "é", ".", "aaaaaaaaaaaaaaaa", "b".repeat(31)];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let n = 0; n < 3000; n++) {
      let text = "";
      const parts = next() % 12;
      for (let k = 0; k < parts; k++) text += alphabet[next() % alphabet.length];
      expect(maskLongTokens(text), JSON.stringify(text)).toBe(text.replace(rule, "[redacted]"));
    }
    expect(maskLongTokens(token)).toBe("[redacted]");
    expect(maskLongTokens(`x${"a".repeat(40)}`)).toBe(`x${"a".repeat(40)}`);
    expect(maskLongTokens(`${"a".repeat(31)}B x`)).toBe("[redacted] x");
  });

  it("bounds paths and free text", () => {
    expect(redactPath(`/api/sfwa/auth/${"a".repeat(20)}.${"b".repeat(20000)}`).length).toBeLessThan(260);
    expect(cap("abcdef", 3)).toBe("abc…(6 chars)");
    expect(cap("abc", 3)).toBe("abc");
  });
});

describe("logEvent", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes one redacted JSON line, error texts included", () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    logEvent("error", "delivery_failed", { error: String(new Error(`gateway said: Approve https://x/m/${token}`)) });
    expect(spy).toHaveBeenCalledTimes(1);
    const line = String(spy.mock.calls[0]![0]);
    expect(line).not.toContain(token);
    expect(JSON.parse(line)).toEqual({ event: "delivery_failed", error: "Error: gateway said: Approve https://x/m/[redacted]" });
  });
});
