import { readFileSync } from "node:fs";
import { Attribute, Change, Client, ResultCodeError } from "ldapts";
import type { PasswordResetConfig } from "../config.ts";
import { escapeFilterValue } from "../first-factor/ldap.ts";
import { accountName, firstValue, ldapAccountAttribute } from "../first-factor/ldap-account.ts";
import { PASSWORD_MODIFY_OID, adUnicodePwd, passwordModifyRequest } from "./password-modify-ber.ts";
import { type Refusal, refusalInWords } from "./refusal-words.ts";

export interface DirectoryUser {
  dn: string;
  msisdn: string | null;
  displayName: string | null;
  /** The account's name (usernameAttribute), if the config names the attribute. */
  account?: string;
}

export type SetPasswordResult = { ok: true } | ({ ok: false } & Refusal);

/** The reset's directory calls; an interface so the handlers can be tested without a server. */
export interface DirectoryAccounts {
  /** The one entry the search finds for this username, or null (none, or several). */
  find(username: string): Promise<DirectoryUser | null>;
  setPassword(dn: string, password: string): Promise<SetPasswordResult>;
}

/** Thrown when the directory cannot be reached or the service account cannot bind. */
export class DirectoryUnavailableError extends Error {
  override name = "DirectoryUnavailableError";
}

/**
 * The directory through ldapts, one connection per call, bound as the service account.
 * OpenLDAP gets the RFC 3062 Password Modify operation (the server hashes and applies
 * ppolicy); Active Directory a `unicodePwd` replace over an encrypted connection.
 */
export class LdapDirectoryAccounts implements DirectoryAccounts {
  readonly #cfg: PasswordResetConfig;

  constructor(cfg: PasswordResetConfig) {
    this.#cfg = cfg;
  }

  async find(username: string): Promise<DirectoryUser | null> {
    return this.#withClient(async (client) => {
      const cfg = this.#cfg;
      const accountAttr = ldapAccountAttribute({ usernameAttribute: cfg.usernameAttribute, search: cfg.userSearch });
      const { searchEntries } = await client.search(cfg.userSearch.baseDn, {
        scope: "sub",
        filter: cfg.userSearch.filter.replaceAll("{user}", escapeFilterValue(username)),
        attributes: [cfg.mobileAttribute, cfg.displayNameAttribute, ...(accountAttr ? [accountAttr] : [])],
        sizeLimit: 2,
      });
      // Zero or several matches: not a user we can reset (never guess which was meant).
      const entry = searchEntries.length === 1 ? searchEntries[0] : undefined;
      if (!entry) return null;
      // The account as the first factor names it (ldap-account.ts accountName: the DN's value, even
      // when the service account may not read the attribute). An entry whose attribute names no
      // one account (several values) is not one either; one without it answers the name typed.
      const named = accountAttr ? accountName(entry, accountAttr) : null;
      if (named && !named.ok && firstValue(entry, accountAttr!) !== undefined) return null;
      const mobile = firstValue(entry, cfg.mobileAttribute)?.replace(/[\s-]/g, "") ?? null;
      const account = named?.ok ? named.account : undefined;
      return {
        dn: entry.dn,
        msisdn: mobile,
        displayName: firstValue(entry, cfg.displayNameAttribute) ?? null,
        ...(account ? { account } : {}),
      };
    });
  }

  async setPassword(dn: string, password: string): Promise<SetPasswordResult> {
    return this.#withClient(async (client) => {
      try {
        if (this.#cfg.directory === "openldap") {
          await client.exop(PASSWORD_MODIFY_OID, passwordModifyRequest(dn, password));
        } else {
          await client.modify(
            dn,
            new Change({ operation: "replace", modification: new Attribute({ type: "unicodePwd", values: [adUnicodePwd(password)] }) }),
          );
        }
        return { ok: true };
      } catch (e) {
        if (e instanceof ResultCodeError) return { ok: false, ...refusalInWords(e.code, e.message) };
        throw e;
      }
    });
  }

  async #withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const cfg = this.#cfg;
    const tls = { rejectUnauthorized: cfg.rejectUnauthorized, ...(cfg.caFile ? { ca: [readFileSync(cfg.caFile)] } : {}) };
    const client = new Client({
      url: cfg.url,
      timeout: cfg.timeoutMs,
      connectTimeout: cfg.timeoutMs,
      tlsOptions: cfg.url.startsWith("ldaps:") ? tls : undefined,
    });
    try {
      try {
        if (cfg.startTls) await client.startTLS(tls);
        await client.bind(cfg.serviceAccount.bindDn, cfg.serviceAccount.bindPassword);
      } catch (e) {
        throw new DirectoryUnavailableError(`directory: ${(e as Error).message}`);
      }
      return await fn(client);
    } finally {
      await client.unbind().catch(() => {});
    }
  }
}
