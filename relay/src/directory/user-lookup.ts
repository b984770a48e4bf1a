import type { LinkArgs, LinkResult } from "../../../core/contracts/relay-link.ts";
import { normalizeUsername } from "../../../core/contracts/relay.ts";
import { phoneNumberFor } from "../auth-flow.ts";
import type { RelayConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import type { DirectoryAccounts } from "./directory-accounts.ts";

/**
 * The relay's "user.lookup" handler: the reset's user as the directory knows them. The relay's
 * `users` map wins for the number (as for logins: auth-flow's phoneNumberFor). A mobile that
 * is not E.164 is left out (the edge then cannot reach the user and says nothing more). The
 * account's name goes along where the config names its attribute: the edge refuses an
 * approver of that name as approver of this reset.
 * Directory errors propagate: the link answers them as relay_error, not as "not found".
 */
export function userLookupHandler(deps: { accounts: DirectoryAccounts; users?: RelayConfig["users"]; log: Logger }) {
  return async (args: LinkArgs<"user.lookup">): Promise<LinkResult<"user.lookup">> => {
    const username = normalizeUsername(args.username);
    const user = await deps.accounts.find(username);
    if (!user) return { found: false };
    const account = user.account ? normalizeUsername(user.account) : "";
    // The login rule, with the directory vouching for the user; never the username as a number.
    // Keyed by the account's own name where the directory gives it, as logins are: another
    // spelling that finds the same account must not skip the operator's number for it.
    const msisdn = phoneNumberFor(
      account || username,
      user.msisdn ?? undefined,
      { users: deps.users ?? {}, usernameAsMsisdn: false },
      true,
    );
    if (!msisdn) deps.log.log("warn", "user_lookup_no_mobile", { username });
    return {
      found: true,
      // The account's own name (the search may have matched the name typed on another attribute).
      ...(account ? { username: account } : {}),
      ...(msisdn ? { msisdn } : {}),
      ...(user.displayName ? { displayName: user.displayName.slice(0, 256) } : {}),
    };
  };
}
