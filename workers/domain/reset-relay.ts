import type { LinkArgs, LinkOp, LinkResult } from "../../core/contracts/relay-link";
import { askRelay } from "./relay-link";

/**
 * How the reset flow asks a relay site a question over the relay link: the signature of the
 * link's `askRelay(env, site, op, args, opts)` without `env`. Injected by the route, so
 * worker tests hand the flow a fake relay and production hands it the link. A failure (no
 * relay connected, timeout, relay error) is a thrown error (RelayLinkError).
 */
export type RelayAsk = <O extends LinkOp>(site: string, op: O, args: LinkArgs<O>, opts?: { timeoutMs?: number }) => Promise<LinkResult<O>>;

/** The production RelayAsk: the relay link of the Worker's environment. */
export function relayAskFor(env: Env): RelayAsk {
  return (site, op, args, opts) => askRelay(env, site, op, args, opts);
}
