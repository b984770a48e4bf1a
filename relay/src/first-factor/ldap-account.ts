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

/** The attribute, or null when the config leaves it open (then `usernameAttribute` is required). */
export function ldapAccountAttribute(cfg: LdapAccountSource): string | null {
  if (cfg.usernameAttribute) return cfg.usernameAttribute;
  const source = cfg.bindDnTemplate ?? cfg.search?.filter ?? "";
  const m = (cfg.bindDnTemplate ? TEMPLATE_RDN : SIMPLE_FILTER).exec(source);
  return m ? m[1]! : null;
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
