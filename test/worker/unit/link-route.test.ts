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

  it("links of the old shape, made-up tokens and other keys' tokens never route", async () => {
    const k = await key();
    const other = await key();
    for (let i = 0; i < 2000; i++) {
      const foreign = i % 2 ? randomToken() : await sealLinkToken(other, "+46701234567");
      expect(await openLinkToken(k, foreign)).toBeNull();
    }
  });

  it("a token changed in any bit routes nowhere (the route's tag), filler included", async () => {
    const k = await key();
    const token = fromBase64url(await sealLinkToken(k, "+46701234567"));
    for (let at = 0; at < 32; at++) {
      for (const bit of [0x01, 0x80]) {
        const changed = token.slice();
        changed[at] = (changed[at] ?? 0) ^ bit;
        expect(await openLinkToken(k, base64url(changed))).toBeNull();
      }
    }
  });

  it("one link cannot be edited into another number's route (AES-CTR alone would let it)", async () => {
    const k = await key();
    const own = "+46701234567";
    const victim = "+46709999999";
    const token = fromBase64url(await sealLinkToken(k, own));
    // XOR the difference of the two numbers' digits into the encrypted route, as an attacker
    // who knows their own number can; every choice of the 8 bytes after it is tried once here.
    let a = BigInt(own.slice(1));
    let b = BigInt(victim.slice(1));
    const edited = token.slice();
    for (let i = 7; i >= 1; i--) {
      edited[i] = (edited[i] ?? 0) ^ Number(a & 0xffn) ^ Number(b & 0xffn);
      a >>= 8n;
      b >>= 8n;
    }
    expect(await openLinkToken(k, base64url(edited))).toBeNull();
    for (let i = 0; i < 200; i++) {
      const forged = edited.slice();
      forged.set(crypto.getRandomValues(new Uint8Array(8)), 8);
      expect(await openLinkToken(k, base64url(forged))).toBeNull();
    }
  });

  it("a version 1 token (route encrypted, no tag) no longer routes", async () => {
    // Sealed as version 1 did: version, digits, 8 random bytes, under AES-CTR with the raw key.
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const aes = await crypto.subtle.importKey("raw", raw, "AES-CTR", false, ["encrypt"]);
    const route = new Uint8Array(16);
    route[0] = 1;
    let digits = 46701234567n;
    for (let i = 7; i >= 1; i--) {
      route[i] = Number(digits & 0xffn);
      digits >>= 8n;
    }
    route.set(crypto.getRandomValues(new Uint8Array(8)), 8);
    const counter = crypto.getRandomValues(new Uint8Array(16));
    const v1 = new Uint8Array(32);
    v1.set(new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 64 }, aes, route)), 0);
    v1.set(counter, 16);
    expect(await openLinkToken(await importLinkKey(raw), base64url(v1))).toBeNull();
  });

  it("refuses what is not a token or not a number, and keys of the wrong size", async () => {
    const k = await key();
    for (const bad of ["", "short", `${randomToken()}x`, "!".repeat(43)]) expect(await openLinkToken(k, bad)).toBeNull();
    for (const bad of ["46701234567", "+0701234567", "+123456", "+1234567890123456", "+4670123456a"])
      await expect(sealLinkToken(k, bad)).rejects.toThrow("E.164");
    await expect(importLinkKey(new Uint8Array(16))).rejects.toThrow("32 bytes");
  });
});
