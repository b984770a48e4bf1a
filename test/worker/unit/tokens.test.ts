import { describe, expect, it } from "vitest";
import { isWellFormedToken, randomToken, sha256Hex, timingSafeEqualString } from "../../../core/tokens";

describe("tokens", () => {
  it("are 256-bit base64url and unique", () => {
    const a = randomToken();
    const b = randomToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(isWellFormedToken(a)).toBe(true);
    expect(a).not.toBe(b);
  });
  it("rejects malformed tokens", () => {
    expect(isWellFormedToken("short")).toBe(false);
    expect(isWellFormedToken(`${randomToken()}x`)).toBe(false);
    expect(isWellFormedToken("../".repeat(15).slice(0, 43))).toBe(false);
  });
  it("hashes with SHA-256", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
  it("compares strings of any length", async () => {
    expect(await timingSafeEqualString("same", "same")).toBe(true);
    expect(await timingSafeEqualString("same", "Same")).toBe(false);
    expect(await timingSafeEqualString("short", "much longer value")).toBe(false);
  });
});
