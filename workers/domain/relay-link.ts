import type { LinkArgs, LinkErrorCode, LinkOp, LinkResult } from "../../core/contracts/relay-link";

/** Why the edge got no answer from a site's relays (see LINK_ERROR_CODES). */
export class RelayLinkError extends Error {
  constructor(
    readonly code: LinkErrorCode,
    message: string = code,
  ) {
    super(message);
    this.name = "RelayLinkError";
  }
}

/**
 * Asks one connected relay of `site` to run `op` and returns its validated result. Throws
 * RelayLinkError: "no_relay" at once when none is connected, "timeout" when none answered in
 * time, or the relay's own error code.
 */
export async function askRelay<O extends LinkOp>(
  env: Env,
  site: string,
  op: O,
  args: LinkArgs<O>,
  opts?: { timeoutMs?: number },
): Promise<LinkResult<O>> {
  void env;
  void site;
  void op;
  void args;
  void opts;
  throw new RelayLinkError("no_relay", "the relay link is not implemented yet");
}
