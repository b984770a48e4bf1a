import { Attribute, Change, Client } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NUMBER_CHANGED } from "../../core/contracts/relay.ts";
import { type FlowDeps, decide } from "../../relay/src/auth-flow.ts";
import { LocalChallengeStore } from "../../relay/src/challenge-store.ts";
import { PasswordResetSchema, parseRelayConfig } from "../../relay/src/config.ts";
import { LdapDirectoryAccounts } from "../../relay/src/directory/directory-accounts.ts";
import { EdgeRejectedError, type EdgeApi, type Who } from "../../relay/src/edge-client.ts";
import { accountName, firstRdn, ldapAccountAttribute } from "../../relay/src/first-factor/ldap-account.ts";
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
  slapd = await startSlapd(
    [
      { uid: "alice", password: "alice-password", mobile: "+46701230001", mail: "alice@example.com" },
      { uid: "carol", password: "carol-password", mobile: CAROL_PHONE, mail: "carol@example.com" },
    ],
    {
      groups: [
        { cn: "approvers", kind: "groupOfNames", members: ["carol"] },
        // "ghost": a member whose account is gone (a stale memberUid).
        { cn: "posix-approvers", kind: "posixGroup", members: ["carol", "ghost"] },
      ],
    },
  );
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
/**
 * Review findings (2026-12-01): the account was the attribute's first value, and then the value
 * a login matched. `uid` may hold several, and where users may write their own entry (the
 * OpenLDAP guide's `by self write`), someone with only the password added values: put first, or
 * typed at the login, each was a new user for the edge, with a pin on the attacker's number and
 * no `users` entry. The entry is changed here as the directory's admin; a user with self-write
 * can make the same change (the DN's own value stays: slapd refuses to drop it).
 */
describe("LDAP first factor: a value the user adds to the account attribute does not rename them", () => {
  const carolDn = () => `uid=carol,ou=people,${slapd.baseDn}`;
  const rewriteCarol = async (changes: Record<string, string[]>) => {
    const admin = new Client({ url: slapd.url });
    try {
      await admin.bind(slapd.adminDn, slapd.adminPassword);
      await admin.modify(
        carolDn(),
        Object.entries(changes).map(
          ([type, values]) => new Change({ operation: "replace", modification: new Attribute({ type, values }) }),
        ),
      );
    } finally {
      await admin.unbind().catch(() => {});
    }
  };
  const attack = () => rewriteCarol({ uid: ["carol.x", "carol", "ghost"], mobile: [ATTACKER_PHONE] });
  const restore = () => rewriteCarol({ uid: ["carol"], mobile: [CAROL_PHONE], mail: ["carol@example.com"] });
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
  const login = (user: string) => ({ user, password: "carol-password", source: "10.0.0.1" });

  it("logins keyed by a DN template or a one-attribute filter stay the account, however they are typed, so the pin holds", async () => {
    for (const ffConfig of [template(), ldap({ filter: "(uid={user})" })]) {
      const pins = new Map<string, string>();
      const { cfg, ff } = firstFactor(ffConfig);
      expect((await decide(login("carol"), flow(cfg, ff, pinningEdge(pins).api))).code).toBe("Access-Reject"); // carol's phone did not answer
      expect(pins.get("carol")).toBe(CAROL_PHONE);
      await attack();
      try {
        expect(await ff.verify("carol", "carol-password")).toEqual({ ok: true, msisdn: ATTACKER_PHONE, user: "carol" });
        expect(await ff.verify("CAROL", "carol-password")).toEqual({ ok: true, msisdn: ATTACKER_PHONE, user: "carol" });
        const attacker = pinningEdge(pins);
        // Under the template only the DN's own value binds; the filter finds the entry by the added ones too.
        for (const name of ffConfig.type === "ldap" && "bindDnTemplate" in ffConfig ? ["carol"] : ["carol", "carol.x", "ghost"]) {
          expect((await decide(login(name), flow(cfg, ff, attacker.api))).code).toBe("Access-Reject"); // number_changed under "carol"
        }
        expect(attacker.touches).toEqual([]);
        expect([...pins.keys()]).toEqual(["carol"]);
        // The users entry (carol's own number, TOTP) still applies.
        const withEntry = firstFactor(ffConfig, { carol: { msisdn: CAROL_PHONE, secondFactor: "totp" } });
        expect((await decide(login("carol"), flow(withEntry.cfg, withEntry.ff, attacker.api))).code).toBe("Access-Challenge");
        expect(attacker.touches).toEqual([]);
      } finally {
        await restore();
      }
    }
  });

  it("a filter over several attributes keys by the DN's value too; an account attribute the DN does not hold must have one value", async () => {
    await attack();
    try {
      const wide = firstFactor(ldap({ filter: "(|(uid={user})(mail={user}))" }, { usernameAttribute: "uid" })).ff;
      expect(await wide.verify("carol@example.com", "carol-password")).toEqual({ ok: true, msisdn: ATTACKER_PHONE, user: "carol" });
      expect(await wide.verify("carol.x", "carol-password")).toMatchObject({ ok: true, user: "carol" });
      await rewriteCarol({ mail: ["carol@example.com", "carol.x@example.com"] });
      const byMail = firstFactor(ldap({ filter: "(|(uid={user})(mail={user}))" }, { usernameAttribute: "mail" })).ff;
      expect(await byMail.verify("carol", "carol-password")).toEqual({ ok: false, reason: "directory entry has several values of mail" });
    } finally {
      await restore();
    }
    const byMail = firstFactor(ldap({ filter: "(|(uid={user})(mail={user}))" }, { usernameAttribute: "mail" })).ff;
    expect(await byMail.verify("carol", "carol-password")).toEqual({ ok: true, msisdn: CAROL_PHONE, user: "carol@example.com" });
  });

  it("the relay's directory (approvers, groups, password reset) names the account the same way", async () => {
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
    const group = (cn: string) => `cn=${cn},ou=groups,${slapd.baseDn}`;
    expect((await directory.groupMembers(group("posix-approvers"))).members.map((m) => m.username)).toEqual(["carol"]);
    await attack();
    try {
      expect(await directory.user("carol")).toMatchObject({ username: "carol", msisdn: ATTACKER_PHONE });
      expect(await directory.user("carol.x")).toMatchObject({ username: "carol" });
      expect(await reset("(uid={user})").find("carol.x")).toMatchObject({ account: "carol" });
      expect(await reset("(|(uid={user})(mail={user}))", "uid").find("carol@example.com")).toMatchObject({ account: "carol" });
      // A member by DN is the DN's account; a stale memberUid that now finds carol through a value she added is not her.
      expect((await directory.groupMembers(group("approvers"))).members.map((m) => m.username)).toEqual(["carol"]);
      const posix = await directory.groupMembers(group("posix-approvers"));
      expect(posix.members.map((m) => m.username)).toEqual(["carol"]);
      expect(posix.skipped).toBe(1);
      await rewriteCarol({ mail: ["carol@example.com", "carol.x@example.com"] });
      // Several values of an account attribute the DN does not hold: not a user to reset.
      expect(await reset("(|(uid={user})(mail={user}))", "mail").find("carol")).toBeNull();
    } finally {
      await restore();
    }
  });

  it("accountName: the DN's value when the DN names the entry by the attribute, else the only value", () => {
    const entry = { dn: "uid=Carol,ou=people,dc=example,dc=com", uid: ["carol.x", "Carol"], mail: ["a@x", "b@x"], cn: "Carol C" };
    expect(accountName(entry, "UID")).toEqual({ ok: true, account: "Carol" });
    expect(accountName(entry, "mail")).toEqual({ ok: false, reason: "directory entry has several values of mail" });
    expect(accountName(entry, "cn")).toEqual({ ok: true, account: "Carol C" });
    expect(accountName({ dn: "cn=Carol C,ou=people", uid: ["carol", "carol.x"] }, "uid")).toEqual({
      ok: false,
      reason: "directory entry has several values of uid",
    });
    expect(accountName({ dn: "cn=x" }, "uid")).toEqual({ ok: false, reason: "directory entry has no uid" });
    // The DN names the account even when the attribute was not returned (a reader that may not see it).
    expect(accountName({ dn: "uid=carol,ou=people" }, "uid")).toEqual({ ok: true, account: "carol" });
  });

  it("firstRdn reads RFC 4514 escapes and refuses what it cannot read as one value", () => {
    expect(firstRdn("uid=carol,ou=people,dc=example,dc=com")).toEqual({ attribute: "uid", value: "carol" });
    expect(firstRdn("UID = smith\\, john ,ou=people")).toEqual({ attribute: "UID", value: "smith, john" });
    expect(firstRdn("uid=caf\\C3\\A9,ou=people")).toEqual({ attribute: "uid", value: "café" });
    expect(firstRdn("uid=\\23hash\\+plus")).toEqual({ attribute: "uid", value: "#hash+plus" });
    expect(firstRdn("cn=Carol+uid=carol,ou=people")).toBeNull();
    expect(firstRdn("uid=#04056361726f6c,ou=people")).toBeNull();
    expect(firstRdn("uid=bad\\C3,ou=people")).toBeNull();
    expect(firstRdn("not a dn")).toBeNull();
  });
});
