import { normalizeUsername } from "../../../core/contracts/relay.ts";

/**
 * Which directory attribute names an LDAP account, so the relay keys a user (the edge's number
 * pin, the `users` map) by the account and not by how it was typed. A search filter that
 * matches `{user}` against several attributes, e.g. `(|(sAMAccountName={user})
 * (userPrincipalName={user}))`, lets one account sign in as `alice` and as `alice@corp.com`:
 * keyed by the typed name, the second spelling got a pin of its own, so an attacker with the
 * password and write access to `mobile` had their own number pinned on first use (and
 * dodged the `users` entry's second factor). Pure: used by the config check and the first factor.
 */
export interface LdapAccountSource {
  usernameAttribute?: string | undefined;
  bindDnTemplate?: string | undefined;
  search?: { filter: string } | undefined;
}

const ATTR = "[A-Za-z][A-Za-z0-9-]*";
/** `uid={user},ou=…`: the template's first RDN is exactly attribute={user}. */
const TEMPLATE_RDN = new RegExp(`^\\s*(${ATTR})\\s*=\\s*\\{user\\}\\s*(?:,|$)`);
/** `(sAMAccountName={user})`: the whole filter is one equality on {user}. */
const SIMPLE_FILTER = new RegExp(`^\\s*\\(\\s*(${ATTR})\\s*=\\s*\\{user\\}\\s*\\)\\s*$`);

/**
 * How an entry's account name is read: the attribute, and whether the lookup matched the name
 * typed against that very attribute (a DN template's first RDN, a single-attribute filter), in
 * which case the account is the value that was typed (see accountName).
 */
export interface LdapAccountRule {
  attribute: string;
  matchesLogin: boolean;
}

/** The rule, or null when the config leaves the attribute open (then `usernameAttribute` is required). */
export function ldapAccountRule(cfg: LdapAccountSource): LdapAccountRule | null {
  const source = cfg.bindDnTemplate ?? cfg.search?.filter ?? "";
  const derived = (cfg.bindDnTemplate ? TEMPLATE_RDN : SIMPLE_FILTER).exec(source)?.[1] ?? null;
  const attribute = cfg.usernameAttribute ?? derived;
  if (!attribute) return null;
  return { attribute, matchesLogin: derived !== null && derived.toLowerCase() === attribute.toLowerCase() };
}

/** The attribute, or null when the config leaves it open (then `usernameAttribute` is required). */
export function ldapAccountAttribute(cfg: LdapAccountSource): string | null {
  return ldapAccountRule(cfg)?.attribute ?? null;
}

export const USERNAME_ATTRIBUTE_REQUIRED =
  "usernameAttribute is required when bindDnTemplate does not start with attribute={user} or the search filter is " +
  "not a single (attribute={user}): name the attribute that names the account (e.g. sAMAccountName), or one " +
  "account signing in under two spellings gets two number pins";

/** An attribute's first value, its name matched case-insensitively (servers return their own spelling). */
export function firstValue(entry: Record<string, unknown>, attribute: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const raw = key === undefined ? undefined : entry[key];
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v === undefined || v === null ? undefined : v.toString();
}

export type AccountName = { ok: true; account: string } | { ok: false; reason: string };

/**
 * The account an entry is, in the directory's spelling: the name that keys the edge's number
 * pin and the `users` map, so it must be one the user cannot pick.
 * - `loginName` given (the entry was found by that name in this very attribute): the value equal
 *   to it as usernames compare (trimmed, case-folded). Not simply the first value: `uid` may hold
 *   several, and a user allowed to write their own entry (the OpenLDAP guide's `by self write`)
 *   could put a new one first and be keyed afresh, with a new pin on their own number and no
 *   `users` entry. The value found is one they cannot drop: the DN or the filter matched it.
 * - otherwise (a filter over other attributes): the attribute's only value. Several are refused:
 *   which one names the account is not the relay's to guess, and one may be the user's own.
 */
export function accountName(entry: Record<string, unknown>, attribute: string, loginName: string | null): AccountName {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const raw = key === undefined ? [] : entry[key];
  const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== undefined && v !== null).map((v) => String(v));
  if (values.length === 0) return { ok: false, reason: `directory entry has no ${attribute}` };
  if (loginName !== null) {
    const wanted = normalizeUsername(loginName);
    const match = values.find((v) => normalizeUsername(v) === wanted);
    return match === undefined
      ? { ok: false, reason: `directory entry's ${attribute} does not hold the name given` }
      : { ok: true, account: match };
  }
  if (values.length > 1) return { ok: false, reason: `directory entry has several values of ${attribute}` };
  return { ok: true, account: values[0]! };
}
