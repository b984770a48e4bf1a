import { describe, expect, it } from "vitest";
import { characterClasses, checkPasswordPolicy, DEFAULT_PASSWORD_POLICY, policyProblemText } from "../../../core/password-policy";
import { PasswordPolicySchema } from "../../../core/password-policy-schema";
import { isBreached, parseBreachedList, sha1HexUpper } from "../../../core/breached-passwords";

const policy = DEFAULT_PASSWORD_POLICY;

describe("password policy", () => {
  it("passes a long password of three classes", () => {
    expect(checkPasswordPolicy("correct Horse battery", "alice", policy)).toEqual([]);
  });

  it("counts code points, not UTF-16 units, for length", () => {
    const p = PasswordPolicySchema.parse({ minLength: 8, minClasses: 1 });
    expect(checkPasswordPolicy("🔑🔑🔑🔑🔑🔑🔑", "bob", p)).toEqual(["too_short"]); // 7 code points, 14 units
    expect(checkPasswordPolicy("🔑🔑🔑🔑🔑🔑🔑🔑", "bob", p)).toEqual([]);
  });

  it("finds each problem", () => {
    expect(checkPasswordPolicy("Short1!", "alice", policy)).toContain("too_short");
    expect(checkPasswordPolicy("alllowercaseletters", "alice", policy)).toEqual(["too_few_classes"]);
    expect(checkPasswordPolicy("x".repeat(257), "alice", policy)).toContain("too_long");
    expect(checkPasswordPolicy("My-ALICE-password-9", "Alice", policy)).toEqual(["contains_username"]);
  });

  it("does not match very short usernames inside passwords, and can be told not to check", () => {
    expect(checkPasswordPolicy("Long enough pass 42", "al", policy)).toEqual([]);
    const lax = PasswordPolicySchema.parse({ forbidUsername: false });
    expect(checkPasswordPolicy("My-ALICE-password-9", "alice", lax)).toEqual([]);
  });

  it("counts character classes across scripts", () => {
    expect(characterClasses("abc")).toBe(1);
    expect(characterClasses("aB3")).toBe(3);
    expect(characterClasses("ÅäÖ 9")).toBe(4);
  });

  it("has the same defaults in the config schema as in the code", () => {
    expect(PasswordPolicySchema.parse({})).toEqual(DEFAULT_PASSWORD_POLICY);
  });

  it("refuses a config below the floor, naming the field", () => {
    const r = PasswordPolicySchema.safeParse({ minLength: 4 });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues[0]?.path)).toContain("minLength");
  });

  it("words every problem with the policy's numbers", () => {
    expect(policyProblemText("too_short", policy)).toContain("12");
    expect(policyProblemText("too_few_classes", policy)).toContain("3");
    expect(policyProblemText("breached", policy)).toMatch(/leaked|common/);
  });
});

describe("breached-password list", () => {
  it("parses digests with counts, comments and blank lines; matches exactly", async () => {
    const digest = await sha1HexUpper("Password123!");
    const list = parseBreachedList(`# a list\n\n${digest.toLowerCase()}:42\n${await sha1HexUpper("hunter2")}\n`);
    expect(list.size).toBe(2);
    expect(await isBreached("Password123!", list)).toBe(true);
    expect(await isBreached("password123!", list)).toBe(false);
    expect(await isBreached("a fresh long passphrase", list)).toBe(false);
  });

  it("names the line of a malformed entry", () => {
    expect(() => parseBreachedList("# ok\nhunter2\n")).toThrow(/line 2/);
  });

  it("hashes as SHA-1 of the UTF-8 bytes", async () => {
    expect(await sha1HexUpper("password")).toBe("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8");
  });
});
