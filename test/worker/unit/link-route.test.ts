import { describe, expect, it } from "vitest";
import { base64url, fromBase64url } from "../../../core/base64url";
import { importLinkKey, openLinkToken, sealLinkToken } from "../../../core/link-route";
import { isWellFormedToken, randomToken } from "../../../core/tokens";

const key = () => importLinkKey(crypto.getRandomValues(new Uint8Array(32)));
const NUMBERS = ["+46701234567", "+1234567", "+999999999999999", "+100000000000000", "+4915112345678", "+12025550123"];

describe("link route", () => {
  it("a token routes back to its number, under the same key only", async () => {
    const k = await key();
    const other = await key();
    for (const msisdn of NUMBERS) {
      const token = await sealLinkToken(k, msisdn);
      expect(isWellFormedToken(token)).toBe(true);
      expect(await openLinkToken(k, token)).toBe(msisdn);
      expect(await openLinkToken(other, token)).not.toBe(msisdn);
    }
  });

  it("shows nothing of the number: two tokens of one number share no bytes' pattern", async () => {
    const k = await key();
    const tokens = await Promise.all(Array.from({ length: 64 }, () => sealLinkToken(k, "+46701234567")));
    expect(new Set(tokens).size).toBe(64);
    // Each of the 32 byte positions takes many values over the 64 tokens (the route's bytes
    // are encrypted under a fresh counter each time), so no position carries the number.
    const bytes = tokens.map(fromBase64url);
    for (let i = 0; i < 32; i++) expect(new Set(bytes.map((b) => b[i])).size).toBeGreaterThan(32);
  });

  it("links of the old shape, made-up tokens and other keys' tokens almost never route, and never to the number", async () => {
    const k = await key();
    const other = await key();
    let routed = 0;
    for (let i = 0; i < 2000; i++) {
      const foreign = i % 2 ? randomToken() : await sealLinkToken(other, "+46701234567");
      const to = await openLinkToken(k, foreign);
      if (to !== null) routed++;
      expect(to).not.toBe("+46701234567");
    }
    // A random route passes the version byte and E.164 about once in 2^15.
    expect(routed).toBeLessThan(5);
  });

  it("a token changed in its version, number or counter no longer routes to its number; a changed filler byte still does", async () => {
    const k = await key();
    const token = fromBase64url(await sealLinkToken(k, "+46701234567"));
    const change = (at: number) => {
      const changed = token.slice();
      changed[at] = (changed[at] ?? 0) ^ 0x01;
      return openLinkToken(k, base64url(changed));
    };
    for (const at of [0, 1, 4, 7, 16, 23, 31]) expect(await change(at)).not.toBe("+46701234567");
    // Not an integrity check: such a token reaches the number's object, where no session has
    // its SHA-256 as a name (the whole token is the secret).
    for (const at of [8, 15]) expect(await change(at)).toBe("+46701234567");
  });

  it("refuses what is not a token or not a number, and keys of the wrong size", async () => {
    const k = await key();
    for (const bad of ["", "short", `${randomToken()}x`, "!".repeat(43)]) expect(await openLinkToken(k, bad)).toBeNull();
    for (const bad of ["46701234567", "+0701234567", "+123456", "+1234567890123456", "+4670123456a"])
      await expect(sealLinkToken(k, bad)).rejects.toThrow("E.164");
    expect(() => importLinkKey(new Uint8Array(16))).toThrow("32 bytes");
  });
});
