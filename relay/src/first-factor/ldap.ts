import { readFileSync } from "node:fs";
import { Client, InvalidCredentialsError } from "ldapts";
import type { FirstFactorConfig } from "../config.ts";
import { accountName, firstValue, ldapAccountAttribute } from "./ldap-account.ts";
import { FirstFactorUnavailableError, type FirstFactor, type FirstFactorResult } from "./types.ts";

type LdapConfig = Extract<FirstFactorConfig, { type: "ldap" }>;

/** RFC 4515 escaping for values placed in a search filter. */
export function escapeFilterValue(v: string): string {
  return v.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** RFC 4514 escaping for a value placed in a DN. */
export function escapeDnValue(v: string): string {
  return v
    .replace(/[\\,+"<>;=\0]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, "\\ ");
}

/**
 * LDAP / Active Directory password check with ldapts: either a direct bind with a DN template,
 * or search (service account) then bind as the found DN. Reads the mobile attribute.
 */
export class LdapFirstFactor implements FirstFactor {
  readonly name = "ldap";
  readonly vouchesForUser = true;
  readonly #cfg: LdapConfig;

  constructor(cfg: LdapConfig) {
    this.#cfg = cfg;
  }

  async verify(user: string, password: string): Promise<FirstFactorResult> {
    // An empty password is an "unauthenticated bind" that many servers accept: never a pass.
    if (!user || !password) return { ok: false, reason: "empty username or password" };
    const client = this.#client();
    try {
      if (this.#cfg.startTls) await client.startTLS(this.#tls());
      const dn = await this.#findDn(client, user);
      if (!dn) return { ok: false, reason: "user not found" };
      try {
        await client.bind(dn, password);
      } catch (e) {
        if (e instanceof InvalidCredentialsError) return { ok: false, reason: "invalid credentials" };
        throw e;
      }
      // The config check guarantees the attribute (explicit or derived from template / filter).
      const accountAttr = ldapAccountAttribute(this.#cfg)!;
      const { searchEntries } = await client.search(dn, { scope: "base", attributes: [this.#cfg.mobileAttribute, accountAttr] });
      const entry = searchEntries[0] ?? {};
      // Not keyable as one account the user cannot rename (ldap-account.ts accountName): refuse.
      const named = accountName(entry, accountAttr);
      if (!named.ok) return { ok: false, reason: named.reason };
      const mobile = firstValue(entry, this.#cfg.mobileAttribute)?.replace(/[\s-]/g, "");
      return mobile ? { ok: true, msisdn: mobile, user: named.account } : { ok: true, user: named.account };
    } catch (e) {
      throw new FirstFactorUnavailableError(`ldap: ${(e as Error).message}`);
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  async #findDn(client: Client, user: string): Promise<string | null> {
    const cfg = this.#cfg;
    if (cfg.bindDnTemplate) return cfg.bindDnTemplate.replaceAll("{user}", escapeDnValue(user));
    const s = cfg.search!;
    await client.bind(s.bindDn, s.bindPassword);
    const { searchEntries } = await client.search(s.baseDn, {
      scope: "sub",
      filter: s.filter.replaceAll("{user}", escapeFilterValue(user)),
      attributes: ["dn"],
      sizeLimit: 2,
    });
    // Zero or several matches: refuse rather than guess which account was meant.
    return searchEntries.length === 1 ? searchEntries[0]!.dn : null;
  }

  #client(): Client {
    return new Client({
      url: this.#cfg.url,
      timeout: this.#cfg.timeoutMs,
      connectTimeout: this.#cfg.timeoutMs,
      tlsOptions: this.#cfg.url.startsWith("ldaps:") ? this.#tls() : undefined,
    });
  }

  #tls() {
    return {
      rejectUnauthorized: this.#cfg.rejectUnauthorized,
      ...(this.#cfg.caFile ? { ca: [readFileSync(this.#cfg.caFile)] } : {}),
    };
  }
}
