import type { LinkArgs, LinkOp, LinkResult } from "../../core/contracts/relay-link";

/**
 * How the reset flow asks a relay site a question over the relay link: the signature of the
 * link's `askRelay(env, site, op, args, opts)` without `env`. Injected by the route, so
 * worker tests hand the flow a fake relay and production hands it the link. A failure (no
 * relay connected, timeout, relay error) is a thrown error.
 */
export type RelayAsk = <O extends LinkOp>(site: string, op: O, args: LinkArgs<O>, opts?: { timeoutMs?: number }) => Promise<LinkResult<O>>;

/** Thrown by the stand-in below; the flow treats it like any link failure ("unavailable"). */
export class RelayLinkMissingError extends Error {
  override name = "RelayLinkMissingError";
}

/**
 * The production RelayAsk. Stand-in until the relay link (issue #13 item 1) is merged: then
 * this becomes `(site, op, args, opts) => askRelay(env, site, op, args, opts)` with askRelay
 * from ./relay-link. Until then every reset is "not available right now".
 */
export function relayAskFor(_env: Env): RelayAsk {
  return async () => {
    throw new RelayLinkMissingError("relay link not available in this build");
  };
}
