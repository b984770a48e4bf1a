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

/** An attribute's values (its name matched case-insensitively), empty ones left out. */
export function attributeValues(entry: Record<string, unknown>, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const raw = key === undefined ? undefined : entry[key];
  const list = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  return list.map((v) => String(v)).filter((v) => v !== "");
}

export type AccountName = { ok: true; account: string } | { ok: false; reason: string };

/**
 * The account an entry is: the name that keys the edge's number pin and the `users` map, so it
 * must be one the user cannot pick by writing their own entry (the OpenLDAP guide's
 * `by self write`; `uid` may hold several values).
 * - The entry's DN names it by this attribute (`uid=carol,ou=people,…`): the DN's value. It is
 *   in the attribute and only a rename changes it; whatever values a user adds beside it, and
 *   whichever of them the login or a group names, they are keyed as the same account. (Keyed by
 *   the first value, or by the value a login matched, a value added to the entry was a new user
 *   for the edge: a fresh pin on the adder's number, and no `users` entry.)
 * - Otherwise: the attribute's only value; several are refused (which one names the account is
 *   not the relay's to guess, and one may be the user's own). A single value users may rewrite
 *   is still theirs to rename themselves with: `usernameAttribute` must be one they cannot write.
 */
export function accountName(entry: { dn?: unknown } & Record<string, unknown>, attribute: string): AccountName {
  const rdn = typeof entry.dn === "string" ? firstRdn(entry.dn) : null;
  if (rdn && rdn.attribute.toLowerCase() === attribute.toLowerCase() && rdn.value !== "") return { ok: true, account: rdn.value };
  const values = attributeValues(entry, attribute);
  if (values.length === 0) return { ok: false, reason: `directory entry has no ${attribute}` };
  if (values.length > 1) return { ok: false, reason: `directory entry has several values of ${attribute}` };
  return { ok: true, account: values[0]! };
}

/**
 * A DN's first RDN as attribute and value (RFC 4514: `\,`-style and `\2C`-style escapes, the
 * latter UTF-8 bytes), or null for one that is multi-valued (`+`), hex-encoded (`#…`) or broken.
 */
export function firstRdn(dn: string): { attribute: string; value: string } | null {
  const head = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*=/.exec(dn);
  if (!head) return null;
  const chars = Array.from(dn.slice(head[0].length));
  if (chars[0] === "#") return null;
  const bytes: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === ",") break;
    if (c === "+") return null;
    if (c === "\\") {
      const pair = `${chars[i + 1] ?? ""}${chars[i + 2] ?? ""}`;
      if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
        bytes.push(Number.parseInt(pair, 16));
        i += 2;
      } else if (chars[i + 1] !== undefined) {
        bytes.push(...utf8.encode(chars[i + 1]!));
        i += 1;
      } else return null;
    } else bytes.push(...utf8.encode(c));
  }
  try {
    return { attribute: head[1]!, value: new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes)).trim() };
  } catch {
    return null;
  }
}
