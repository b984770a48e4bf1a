import type { RelayConfig } from "../config.ts";
import { phoneNumberFor } from "../auth-flow.ts";
import type { Logger } from "../log.ts";
import type { LdapDirectory } from "./directory.ts";
import { LinkHandlerError, type LinkDispatcher } from "./dispatch.ts";
import { TtlCache } from "./ttl-cache.ts";

type GroupMembers = Awaited<ReturnType<LdapDirectory["groupMembers"]>>["members"];

/** A DN as compared here: case and the spaces around separators do not matter. */
export function normalizeDn(dn: string): string {
  return dn
    .split(",")
    .map((rdn) =>
      rdn
        .split("=")
        .map((p) => p.trim())
        .join("="),
    )
    .join(",")
    .toLowerCase();
}

/**
 * "user.lookup" and "group.members" on this relay: the LDAP directory through its service
 * account (or, without LDAP, the `users` map alone). Groups are answered only when listed in
 * `link.groups`, so even a compromised edge cannot read any other group's phone numbers.
 * Group answers are cached for `link.groupCacheSeconds`.
 */
export function registerDirectoryHandlers(
  dispatcher: LinkDispatcher,
  config: Pick<RelayConfig, "users" | "usernameAsMsisdn" | "link">,
  directory: LdapDirectory | null,
  log: Logger,
  now: () => number = Date.now,
): void {
  const allowed = new Set(config.link.groups.map(normalizeDn));
  const cache = new TtlCache<GroupMembers>(config.link.groupCacheSeconds * 1000, { now });

  dispatcher.register("user.lookup", async ({ username }) => {
    if (!directory) {
      const msisdn = phoneNumberFor(username, undefined, config, false);
      return config.users[username] ? { found: true, username, displayName: username, ...(msisdn ? { msisdn } : {}) } : { found: false };
    }
    const user = await directory.user(username);
    if (!user) return { found: false };
    // The account name the filter found (it may have matched on another attribute): the edge's requester name.
    return { found: true, username: user.username, displayName: user.displayName, ...(user.msisdn ? { msisdn: user.msisdn } : {}) };
  });

  dispatcher.register("group.members", async ({ group }) => {
    const key = normalizeDn(group);
    if (!allowed.has(key)) throw new LinkHandlerError("bad_request", "this relay does not answer for that group (see link.groups)");
    if (!directory) throw new LinkHandlerError("unsupported", "this relay has no LDAP directory with a service account");
    const hit = cache.get(key);
    if (hit) return { members: hit };
    const { members, skipped } = await directory.groupMembers(group);
    log.log("info", "link_group_resolved", { members: members.length, skippedWithoutNumber: skipped });
    cache.set(key, members);
    return { members };
  });
}
