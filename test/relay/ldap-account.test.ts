import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRelayConfig } from "../../relay/src/config.ts";
import { ldapAccountAttribute } from "../../relay/src/first-factor/ldap-account.ts";
import { LdapFirstFactor } from "../../relay/src/first-factor/ldap.ts";
import { startSlapd, type Slapd } from "../support/slapd.ts";

/**
 * One LDAP account, one user key: a login filter that finds an account under two names must
 * not give it two number pins (or two `users` entries). Against a real slapd.
 */
const base = {
  clients: [{ name: "c", address: "127.0.0.1", secret: "s" }],
  edge: { url: "https://edge.example", relayName: "r", privateKeyFile: "/dev/null" },
};
let slapd: Slapd;

beforeAll(async () => {
  slapd = await startSlapd([{ uid: "alice", password: "alice-password", mobile: "+46701230001", mail: "alice@example.com" }]);
});
afterAll(async () => {
  await slapd?.stop();
});

const ldap = (search: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "ldap",
  url: slapd.url,
  search: { baseDn: slapd.baseDn, bindDn: slapd.adminDn, bindPassword: slapd.adminPassword, ...search },
  ...extra,
});

describe("LDAP first factor: the account, not the spelling, is the user", () => {
  it("derives the account attribute from a DN template or a single-attribute filter, else requires it", () => {
    expect(ldapAccountAttribute({ bindDnTemplate: "uid={user},ou=people,dc=example,dc=com" })).toBe("uid");
    expect(ldapAccountAttribute({ search: { filter: "(sAMAccountName={user})" } })).toBe("sAMAccountName");
    expect(ldapAccountAttribute({ search: { filter: "(|(sAMAccountName={user})(userPrincipalName={user}))" } })).toBeNull();
    expect(ldapAccountAttribute({ bindDnTemplate: "{user}@corp.example.com" })).toBeNull();
    const aliasing = {
      ...base,
      firstFactor: {
        type: "ldap",
        url: "ldap://x",
        search: { baseDn: "dc=x", bindDn: "cn=a", bindPassword: "p", filter: "(|(uid={user})(mail={user}))" },
      },
    };
    expect(() => parseRelayConfig(aliasing)).toThrow(/usernameAttribute is required/);
    expect(parseRelayConfig({ ...aliasing, firstFactor: { ...aliasing.firstFactor, usernameAttribute: "uid" } }).firstFactor).toMatchObject(
      { usernameAttribute: "uid" },
    );
  });

  it("a login under another name of the account reports the account's own name", async () => {
    const cfg = parseRelayConfig({ ...base, firstFactor: ldap({ filter: "(|(uid={user})(mail={user}))" }, { usernameAttribute: "uid" }) });
    const ff = new LdapFirstFactor(cfg.firstFactor as Extract<typeof cfg.firstFactor, { type: "ldap" }>);
    expect(await ff.verify("alice@example.com", "alice-password")).toEqual({ ok: true, msisdn: "+46701230001", user: "alice" });
    expect(await ff.verify("ALICE", "alice-password")).toEqual({ ok: true, msisdn: "+46701230001", user: "alice" });
    expect((await ff.verify("alice@example.com", "wrong")).ok).toBe(false);
  });

  it("an entry without the account attribute is refused rather than keyed by the typed name", async () => {
    const cfg = parseRelayConfig({
      ...base,
      firstFactor: ldap({ filter: "(|(uid={user})(mail={user}))" }, { usernameAttribute: "employeeNumber" }),
    });
    const ff = new LdapFirstFactor(cfg.firstFactor as Extract<typeof cfg.firstFactor, { type: "ldap" }>);
    expect(await ff.verify("alice@example.com", "alice-password")).toEqual({ ok: false, reason: "directory entry has no employeeNumber" });
  });
});
