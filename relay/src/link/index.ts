import type { CryptoKey as JoseKey, KeyObject } from "jose";
import type { RelayConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import { LdapDirectory } from "./directory.ts";
import { registerDirectoryHandlers } from "./directory-handlers.ts";
import { LinkDispatcher } from "./dispatch.ts";
import { LinkClient } from "./link-client.ts";

export { LinkDispatcher, LinkHandlerError, type LinkHandler } from "./dispatch.ts";

export interface RelayLink {
  /** Register more ops here before start(): `link.dispatcher.register("password.change", handler)`. */
  dispatcher: LinkDispatcher;
  client: LinkClient;
}

/** The relay link as the config asks for it, with the directory handlers registered (not started). */
export function createRelayLink(config: RelayConfig, key: JoseKey | KeyObject, log: Logger): RelayLink {
  const dispatcher = new LinkDispatcher({ timeoutMs: config.link.requestTimeoutMs, log });
  const ff = config.firstFactor;
  const directory = ff.type === "ldap" && ff.search ? new LdapDirectory({ ...ff, search: ff.search }, config) : null;
  if (!directory)
    log.log("info", "link_no_directory", {
      reason: "firstFactor is not LDAP with a search service account: lookups use the users map only",
    });
  registerDirectoryHandlers(dispatcher, config, directory, log);
  const client = new LinkClient({
    edgeUrl: config.edge.url,
    relayName: config.edge.relayName,
    key,
    dispatcher,
    log,
    pingIntervalMs: config.link.keepaliveSeconds * 1000,
    pongTimeoutMs: Math.max(1000, config.link.keepaliveSeconds * 500),
  });
  return { dispatcher, client };
}
