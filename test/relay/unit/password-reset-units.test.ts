import { describe, expect, it } from "vitest";
import { adUnicodePwd, passwordModifyRequest } from "../../../relay/src/directory/password-modify-ber.ts";
import { refusalInWords } from "../../../relay/src/directory/refusal-words.ts";
import type { DirectoryAccounts } from "../../../relay/src/directory/directory-accounts.ts";
import { userLookupHandler } from "../../../relay/src/directory/user-lookup.ts";
import type { RelayConfig } from "../../../relay/src/config.ts";

describe("RFC 3062 Password Modify request value", () => {
  it("is SEQUENCE { [0] userIdentity, [2] newPasswd } without an old password", () => {
    expect(passwordModifyRequest("uid=a", "pw").toString("hex")).toBe(
      `30 0b 80 05 ${Buffer.from("uid=a").toString("hex")} 82 02 7077`.replaceAll(" ", ""),
    );
  });

  it("uses the long length form past 127 bytes", () => {
    const dn = `uid=${"x".repeat(200)}`;
    const v = passwordModifyRequest(dn, "pw");
    expect(v.subarray(0, 3).toString("hex")).toBe("3081d3"); // (1 + 2 + 204) + (1 + 1 + 2) = 211 = 0xd3
    expect(v.subarray(3, 6).toString("hex")).toBe("8081cc"); // [0], 204 bytes
    expect(v.length).toBe(3 + 211);
  });
});

describe("Active Directory unicodePwd", () => {
  it("is the password in double quotes, UTF-16LE", () => {
    expect(adUnicodePwd("Å1").toString("hex")).toBe("2200c5003100" + "2200");
  });
});

describe("directory refusals in words", () => {
  it("words ppolicy's diagnostic messages", () => {
    expect(refusalInWords(19, "Password is in history of old passwords").message).toMatch(/used this password before/);
    expect(refusalInWords(19, "Password fails quality checking policy").message).toMatch(/too short or too simple/);
    expect(refusalInWords(19, "Password is not being changed from existing value").message).toMatch(/same as the current/);
    expect(refusalInWords(19, "Password is too young to change").message).toMatch(/too recently/);
  });

  it("words Active Directory's 0000052D constraint", () => {
    const r = refusalInWords(
      19,
      "0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity policy",
    );
    expect(r).toEqual({ reason: "policy", message: expect.stringMatching(/too short, too simple, or was used before/) });
  });

  it("calls another constraint a policy refusal, and anything else unavailable, without echoing the server", () => {
    expect(refusalInWords(19, "something new")).toMatchObject({ reason: "policy" });
    const other = refusalInWords(50, "insufficient access to uid=alice,ou=people");
    expect(other.reason).toBe("directory_unavailable");
    expect(other.message).not.toContain("uid=");
  });
});

describe("the reset's user lookup", () => {
  it("the relay's own number for a user wins under any spelling the directory resolves to that account", async () => {
    const entry = { dn: "uid=alice,ou=people,dc=corp", msisdn: "+46709999999", displayName: "Alice", account: "alice" };
    const accounts: DirectoryAccounts = {
      find: async (name) => (name === "alice" || name === "alice@corp.example" ? entry : null),
      setPassword: async () => ({ ok: true }),
    };
    const lookup = userLookupHandler({ accounts, users: { alice: { msisdn: "+46701234567" } } as RelayConfig["users"], log: { log() {} } });
    for (const username of ["alice", "alice@corp.example"]) {
      expect(await lookup({ username })).toEqual({ found: true, username: "alice", msisdn: "+46701234567", displayName: "Alice" });
    }
  });
});
