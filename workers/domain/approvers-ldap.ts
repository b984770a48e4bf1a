import type { Endpoint } from "../config/schema";
import { log } from "../lib/log";
import { cachedApprovers } from "./approver-cache";
import { ApproverDirectoryUnavailable, findIn, memberId, type Approver, type ApproverDirectory } from "./approver-directory";
import { askRelay, RelayLinkError } from "./relay-link";

/** How long the edge waits for a relay to list a group (a fresh list, not cached on the relay, can take a few LDAP reads). */
const GROUP_TIMEOUT_MS = 8_000;

/**
 * `assistedLogin: { source: "ldap", group }`: the group's members with a mobile number, as a
 * relay of the site reads them from the directory ("group.members" over the relay link).
 * The site is `assistedLogin.site`, else the endpoint's name (a relay's default site).
 */
export class LdapGroupDirectory implements ApproverDirectory {
  readonly #env: Env;
  readonly #endpointName: string;

  constructor(env: Env, endpointName: string) {
    this.#env = env;
    this.#endpointName = endpointName;
  }

  async list(endpoint: Pick<Endpoint, "assistedLogin">): Promise<Approver[]> {
    const cfg = endpoint.assistedLogin;
    if (cfg?.source !== "ldap") return [];
    const site = cfg.site ?? this.#endpointName;
    return cachedApprovers(`ldap\n${site}\n${cfg.group.toLowerCase()}`, cfg.cacheSeconds, async () => {
      let members: Array<{ username: string; displayName: string; msisdn: string }>;
      try {
        ({ members } = await askRelay(this.#env, site, "group.members", { group: cfg.group }, { timeoutMs: GROUP_TIMEOUT_MS }));
      } catch (e) {
        if (!(e instanceof RelayLinkError)) throw e;
        log.warn("approver_directory_unavailable", { source: "ldap", site, code: e.code, error: e.message });
        throw new ApproverDirectoryUnavailable(`ldap group via site ${site}: ${e.code}`);
      }
      // The member's login name (the relay's account attribute, normalised by the contract) names the person.
      return Promise.all(
        members.map(async (m) => ({
          id: await memberId("ldap", m.username),
          name: m.displayName,
          msisdn: m.msisdn,
          usernames: [m.username],
        })),
      );
    });
  }

  find(endpoint: Pick<Endpoint, "assistedLogin">, id: string): Promise<Approver | null> {
    return findIn(this, endpoint, id);
  }
}
