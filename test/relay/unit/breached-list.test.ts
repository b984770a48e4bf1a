import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isBreached, parseBreachedList } from "../../../core/breached-passwords.ts";
import { checkPasswordPolicy, DEFAULT_PASSWORD_POLICY } from "../../../core/password-policy.ts";

// The list shipped in the repository, as the relay (and the reset page's bundle) load it.
const shipped = parseBreachedList(readFileSync(new URL("../../../data/breached-passwords.txt", import.meta.url), "utf8"));

describe("the shipped breached-password list", () => {
  it("holds the most common passwords", async () => {
    expect(shipped.size).toBeGreaterThan(1000);
    for (const p of ["123456", "password", "qwerty123", "iloveyou"]) expect(await isBreached(p, shipped)).toBe(true);
  });

  it("catches common passwords that the length and class rules let through", async () => {
    for (const p of ["Password123!", "P@ssw0rd1234", "Welcome@1234", "Summer2024!!"]) {
      expect(checkPasswordPolicy(p, "alice", DEFAULT_PASSWORD_POLICY)).toEqual([]);
      expect(await isBreached(p, shipped)).toBe(true);
    }
  });

  it("lets an uncommon passphrase through", async () => {
    expect(await isBreached("Violet kettle 47 orbits", shipped)).toBe(false);
  });
});
