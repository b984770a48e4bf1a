import { readFileSync } from "node:fs";
import { Client } from "ldapts";
import { E164, normalizeUsername } from "../../../core/contracts/relay.ts";
import { phoneNumberFor } from "../auth-flow.ts";
import type { FirstFactorConfig, RelayConfig } from "../config.ts";
import { escapeFilterValue } from "../first-factor/ldap.ts";
import { accountName, attributeValues, firstValue, ldapAccountAttribute } from "../first-factor/ldap-account.ts";

type LdapConfig = Extract<FirstFactorConfig, { type: "ldap" }>;
type SearchConfig = NonNullable<LdapConfig["search"]>;

export interface DirectoryUser {
  username: string;
  displayName: string;
  /** E.164, the relay's `users` entry first (as for a RADIUS login), else the directory's. */
  msisdn?: string;
}

/** The most members one answer carries (the link contract's cap). */
export const MAX_GROUP_MEMBERS = 1000;

/**
 * The relay's directory as the link asks it: one user by name, the members of a group. Reads
 * with the first factor's service account (`firstFactor.search`), never as a user.
 */
export class LdapDirectory {
  readonly #cfg: LdapConfig;
  readonly #search: SearchConfig;
  readonly #accountAttr: string;
  readonly #numbers: Pick<RelayConfig, "users" | "usernameAsMsisdn">;

  constructor(cfg: LdapConfig & { search: SearchConfig }, numbers: Pick<RelayConfig, "users" | "usernameAsMsisdn">) {
    this.#cfg = cfg;
    this.#search = cfg.search;
    // The config check guarantees it (explicit or derived from the search filter).
    this.#accountAttr = ldapAccountAttribute(cfg) ?? "uid";
    this.#numbers = numbers;
  }

  /** The user the filter finds for `username`; null for none or several (never a guess). */
  async user(username: string): Promise<DirectoryUser | null> {
    return this.#session(async (client) => {
      const { searchEntries } = await client.search(this.#search.baseDn, {
        scope: "sub",
        filter: this.#search.filter.replaceAll("{user}", escapeFilterValue(username)),
        attributes: this.#attributes(),
        sizeLimit: 2,
      });
      const only = searchEntries.length === 1 ? searchEntries[0] : undefined;
      return only ? this.#toUser(only) : null;
    });
  }

  /**
   * The members of the group `groupDn` with a usable number: `member` / `uniqueMember` DNs
   * (groupOfNames, AD), `memberUid` names (posixGroup), or, for a group entry that lists no
   * one, the users whose `memberOf` names it (AD, OpenLDAP's memberof overlay).
   */
  async groupMembers(groupDn: string): Promise<{ members: Array<Required<DirectoryUser>>; skipped: number }> {
    return this.#session(async (client) => {
      const { searchEntries: groups } = await client.search(groupDn, {
        scope: "base",
        attributes: ["member", "uniqueMember", "memberUid"],
      });
      const group = groups[0];
      if (!group) throw new Error("group not found");
      const dns = [...attributeValues(group, "member"), ...attributeValues(group, "uniqueMember")];
      const uids = attributeValues(group, "memberUid");
      // Each entry with the account name the group gave for it, if it named one (memberUid).
      const entries: Array<{ entry: Record<string, unknown>; name: string | null }> = [];
      for (const dn of dns.slice(0, MAX_GROUP_MEMBERS)) {
        try {
          const { searchEntries } = await client.search(dn, { scope: "base", attributes: this.#attributes() });
          if (searchEntries[0]) entries.push({ entry: searchEntries[0], name: null });
        } catch {
          // A member DN that no longer exists (or a nested group we may not read): skipped.
        }
      }
      for (const uid of uids.slice(0, MAX_GROUP_MEMBERS)) {
        const { searchEntries } = await client.search(this.#search.baseDn, {
          scope: "sub",
          filter: `(${this.#accountAttr}=${escapeFilterValue(uid)})`,
          attributes: this.#attributes(),
          sizeLimit: 2,
        });
        if (searchEntries.length === 1 && searchEntries[0]) entries.push({ entry: searchEntries[0], name: uid });
      }
      if (dns.length === 0 && uids.length === 0) {
        const { searchEntries } = await client.search(this.#search.baseDn, {
          scope: "sub",
          filter: `(memberOf=${escapeFilterValue(groupDn)})`,
          attributes: this.#attributes(),
          sizeLimit: MAX_GROUP_MEMBERS,
        });
        entries.push(...searchEntries.map((entry) => ({ entry, name: null })));
      }
      const members: Array<Required<DirectoryUser>> = [];
      const seen = new Set<string>();
      let skipped = 0;
      for (const { entry, name } of entries) {
        const u = this.#toUser(entry);
        // A memberUid names an account: an entry found through another of its values (one its
        // user added beside their own) is not that member. Entries with no account are skipped.
        if (!u || (name !== null && u.username !== normalizeUsername(name))) {
          skipped++;
          continue;
        }
        if (seen.has(u.username)) continue;
        seen.add(u.username);
        if (u.msisdn && members.length < MAX_GROUP_MEMBERS) members.push({ ...u, msisdn: u.msisdn });
        else skipped++;
      }
      return { members, skipped };
    });
  }

  #attributes(): string[] {
    return [this.#accountAttr, this.#cfg.mobileAttribute, "displayName", "cn"];
  }

  #toUser(entry: Record<string, unknown>): DirectoryUser | null {
    const named = accountName(entry, this.#accountAttr);
    if (!named.ok) return null;
    const account = named.account;
    // As the edge and the relay's users map compare names (the approver's identity at the edge).
    const username = normalizeUsername(account);
    const mobile = firstValue(entry, this.#cfg.mobileAttribute)?.replace(/[\s-]/g, "");
    const msisdn = phoneNumberFor(username, mobile, this.#numbers, true);
    const displayName = (firstValue(entry, "displayName") ?? firstValue(entry, "cn") ?? account).slice(0, 256);
    return msisdn && E164.test(msisdn) ? { username, displayName, msisdn } : { username, displayName };
  }

  async #session<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const tls = {
      rejectUnauthorized: this.#cfg.rejectUnauthorized,
      ...(this.#cfg.caFile ? { ca: [readFileSync(this.#cfg.caFile)] } : {}),
    };
    const client = new Client({
      url: this.#cfg.url,
      timeout: this.#cfg.timeoutMs,
      connectTimeout: this.#cfg.timeoutMs,
      tlsOptions: this.#cfg.url.startsWith("ldaps:") ? tls : undefined,
    });
    try {
      if (this.#cfg.startTls) await client.startTLS(tls);
      await client.bind(this.#search.bindDn, this.#search.bindPassword);
      return await work(client);
    } finally {
      await client.unbind().catch(() => {});
    }
  }
}
