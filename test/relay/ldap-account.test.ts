import { Attribute, Change, Client } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NUMBER_CHANGED } from "../../core/contracts/relay.ts";
import { type FlowDeps, decide } from "../../relay/src/auth-flow.ts";
import { LocalChallengeStore } from "../../relay/src/challenge-store.ts";
import { PasswordResetSchema, parseRelayConfig } from "../../relay/src/config.ts";
import { LdapDirectoryAccounts } from "../../relay/src/directory/directory-accounts.ts";
import { EdgeRejectedError, type EdgeApi, type Who } from "../../relay/src/edge-client.ts";
import { accountName, ldapAccountAttribute } from "../../relay/src/first-factor/ldap-account.ts";
import { LdapFirstFactor } from "../../relay/src/first-factor/ldap.ts";
import { LdapDirectory } from "../../relay/src/link/directory.ts";
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
const CAROL_PHONE = "+46701230003";
const ATTACKER_PHONE = "+46709990009";

beforeAll(async () => {
  slapd = await startSlapd([
    { uid: "alice", password: "alice-password", mobile: "+46701230001", mail: "alice@example.com" },
    { uid: "carol", password: "carol-password", mobile: CAROL_PHONE, mail: "carol@example.com" },
  ]);
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

/**
 * Review finding (2026-12-01): the account was the attribute's first value. `uid` may hold
 * several, and where users may write their own entry (the OpenLDAP guide's `by self write`),
 * someone with only the password put a new value first: the same login was keyed afresh, got
 * the attacker's number pinned on first use and skipped the `users` entry. The entry is changed
 * here as the directory's admin; a user with self-write can make the same change.
 */
describe("LDAP first factor: a value the user adds to the account attribute does not rename them", () => {
  const carolDn = () => `uid=carol,ou=people,${slapd.baseDn}`;
  const rewriteCarol = async (uids: string[], mobile: string) => {
    const admin = new Client({ url: slapd.url });
    try {
      await admin.bind(slapd.adminDn, slapd.adminPassword);
      await admin.modify(carolDn(), [
        new Change({ operation: "replace", modification: new Attribute({ type: "uid", values: uids }) }),
        new Change({ operation: "replace", modification: new Attribute({ type: "mobile", values: [mobile] }) }),
      ]);
    } finally {
      await admin.unbind().catch(() => {});
    }
  };
  const template = () => ({ type: "ldap", url: slapd.url, bindDnTemplate: `uid={user},ou=people,${slapd.baseDn}` });
  const firstFactor = (ff: Record<string, unknown>, users: Record<string, unknown> = {}) => {
    const cfg = parseRelayConfig({ ...base, firstFactor: ff, secondFactor: "touch", users });
    return { cfg, ff: new LdapFirstFactor(cfg.firstFactor as Extract<typeof cfg.firstFactor, { type: "ldap" }>) };
  };

  /** An edge that pins the first number per username (as workers/domain/number-pins.ts), and whose Touch the attacker's phone approves. */
  const pinningEdge = (pins: Map<string, string>) => {
    const touches: Who[] = [];
    const refuse = async (): Promise<never> => {
      throw new Error("not used by a Touch login");
    };
    const api: EdgeApi = {
      touch: async (who) => {
        const pinned = pins.get(who.username);
        if (pinned === undefined) pins.set(who.username, who.msisdn);
        else if (pinned !== who.msisdn) throw new EdgeRejectedError("409", NUMBER_CHANGED);
        touches.push(who);
        return who.msisdn === ATTACKER_PHONE ? "TOUCH_ACCEPTED" : "USER_NOT_RESPONDED";
      },
      startSmsOtp: refuse,
      verifySmsOtp: refuse,
      verifyTotp: refuse,
      hasTotp: async () => true,
      hasApp: async () => false,
      verifyChallengeResponse: refuse,
    };
    return { api, touches };
  };
  const flow = (cfg: FlowDeps["config"], ff: LdapFirstFactor, api: EdgeApi): FlowDeps => ({
    config: cfg,
    firstFactor: ff,
    edge: api,
    challenges: new LocalChallengeStore(60_000),
    now: Date.now,
    warn: () => {},
  });

  it("a login keyed by a DN template stays its account after a uid value is put first, so the pin holds", async () => {
    const pins = new Map<string, string>();
    const { cfg, ff } = firstFactor(template());
    const login = { user: "carol", password: "carol-password", source: "10.0.0.1" };
    expect((await decide(login, flow(cfg, ff, pinningEdge(pins).api))).code).toBe("Access-Reject"); // carol's phone did not answer
    expect(pins.get("carol")).toBe(CAROL_PHONE);

    await rewriteCarol(["carol.x", "carol"], ATTACKER_PHONE);
    try {
      expect(await ff.verify("carol", "carol-password")).toEqual({ ok: true, msisdn: ATTACKER_PHONE, user: "carol" });
      expect(await ff.verify("CAROL", "carol-password")).toEqual({ ok: true, msisdn: ATTACKER_PHONE, user: "carol" });
      const attack = pinningEdge(pins);
      const d = await decide(login, flow(cfg, ff, attack.api));
      expect(d.code).toBe("Access-Reject"); // number_changed: the pin under "carol" is what the edge checks
      expect(attack.touches).toEqual([]);
      expect([...pins.keys()]).toEqual(["carol"]);
      // The users entry (carol's own number, TOTP) still applies to the login.
      const { cfg: withEntry, ff: ff2 } = firstFactor(template(), { carol: { msisdn: CAROL_PHONE, secondFactor: "totp" } });
      const challenged = await decide(login, flow(withEntry, ff2, attack.api));
      expect(challenged.code).toBe("Access-Challenge");
      expect(attack.touches).toEqual([]);
    } finally {
      await rewriteCarol(["carol"], CAROL_PHONE);
    }
  });

  it("a single-attribute filter takes the value the name matched; a filter over several attributes refuses several values", async () => {
    await rewriteCarol(["carol.x", "carol"], ATTACKER_PHONE);
    try {
      const simple = firstFactor(ldap({ filter: "(uid={user})" })).ff;
      expect(await simple.verify("carol", "carol-password")).toMatchObject({ ok: true, user: "carol" });
      const wide = firstFactor(ldap({ filter: "(|(uid={user})(mail={user}))" }, { usernameAttribute: "uid" })).ff;
      expect(await wide.verify("carol@example.com", "carol-password")).toEqual({
        ok: false,
        reason: "directory entry has several values of uid",
      });
      expect(await wide.verify("carol", "carol-password")).toEqual({ ok: false, reason: "directory entry has several values of uid" });
    } finally {
      await rewriteCarol(["carol"], CAROL_PHONE);
    }
    const wide = firstFactor(ldap({ filter: "(|(uid={user})(mail={user}))" }, { usernameAttribute: "uid" })).ff;
    expect(await wide.verify("carol@example.com", "carol-password")).toEqual({ ok: true, msisdn: CAROL_PHONE, user: "carol" });
  });

  it("the relay's directory (approvers, password reset) names the account the same way", async () => {
    const cfg = parseRelayConfig({ ...base, firstFactor: ldap({ filter: "(uid={user})" }) });
    if (cfg.firstFactor.type !== "ldap" || !cfg.firstFactor.search) throw new Error("ldap search config expected");
    const directory = new LdapDirectory({ ...cfg.firstFactor, search: cfg.firstFactor.search }, cfg);
    const reset = (filter: string, usernameAttribute?: string) =>
      new LdapDirectoryAccounts(
        PasswordResetSchema.parse({
          directory: "openldap",
          url: slapd.url,
          serviceAccount: { bindDn: slapd.adminDn, bindPassword: slapd.adminPassword },
          userSearch: { baseDn: slapd.baseDn, filter },
          encryptionKeyFile: "/dev/null",
          ...(usernameAttribute ? { usernameAttribute } : {}),
        }),
      );
    await rewriteCarol(["carol.x", "carol"], CAROL_PHONE);
    try {
      expect(await directory.user("carol")).toMatchObject({ username: "carol", msisdn: CAROL_PHONE });
      expect(await reset("(uid={user})").find("carol")).toMatchObject({ account: "carol" });
      // Found by mail, the account attribute's several values name no one account: not a user to reset.
      expect(await reset("(|(uid={user})(mail={user}))", "uid").find("carol@example.com")).toBeNull();
    } finally {
      await rewriteCarol(["carol"], CAROL_PHONE);
    }
    expect(await reset("(|(uid={user})(mail={user}))", "uid").find("carol@example.com")).toMatchObject({ account: "carol" });
  });

  it("accountName: the value the name found (as usernames compare), else the only one", () => {
    const entry = { dn: "uid=carol,ou=people", uid: ["carol.x", "Carol"] };
    expect(accountName(entry, "UID", " CAROL ")).toEqual({ ok: true, account: "Carol" });
    expect(accountName(entry, "uid", "dave")).toEqual({ ok: false, reason: "directory entry's uid does not hold the name given" });
    expect(accountName(entry, "uid", null)).toEqual({ ok: false, reason: "directory entry has several values of uid" });
    expect(accountName({ uid: "carol" }, "uid", null)).toEqual({ ok: true, account: "carol" });
    expect(accountName({ dn: "x" }, "uid", "carol")).toEqual({ ok: false, reason: "directory entry has no uid" });
  });
});
