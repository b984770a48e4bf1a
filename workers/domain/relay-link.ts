import { relaySite, type Relay } from "../config/schema";
import { loadConfig } from "../config/load";
import { LINK_OPS, type LinkArgs, type LinkErrorCode, type LinkOp, type LinkResult } from "../../core/contracts/relay-link";
import { LINK_CONNECT_URL, LINK_RELAY_PARAM, type LinkAnswer, type LinkAsk } from "../objects/relay-link/contract";
import { log } from "../lib/log";
import { objectStub } from "../lib/durable-objects";

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

/** How long the edge waits for a relay's answer unless the caller says otherwise. */
export const DEFAULT_LINK_TIMEOUT_MS = 10_000;
/** The longest wait: pending requests live in the link object's memory only (see RelayLink). */
export const MAX_LINK_TIMEOUT_MS = 30_000;

/**
 * Asks one connected relay of `site` to run `op` and returns its validated result. Throws
 * RelayLinkError: "no_relay" at once when none is connected, "timeout" when none answered in
 * time, "bad_request" when `args` do not fit the op, "relay_error" for an answer that does not
 * fit the contract or a link lost mid-request, or the relay's own error code.
 */
export async function askRelay<O extends LinkOp>(
  env: Env,
  site: string,
  op: O,
  args: LinkArgs<O>,
  opts?: { timeoutMs?: number },
): Promise<LinkResult<O>> {
  const spec = LINK_OPS[op];
  const parsedArgs = spec.args.safeParse(args);
  if (!parsedArgs.success) throw new RelayLinkError("bad_request", `invalid ${op} arguments: ${parsedArgs.error.message}`);
  // Only relays configured for the site now may answer: one removed from the config is dropped on the next question.
  const relays = loadConfig(env)
    .relays.filter((r) => relaySite(r) === site)
    .map((r) => r.name);
  if (relays.length === 0) throw new RelayLinkError("no_relay", `no relay is configured for site "${site}"`);
  const timeoutMs = Math.min(Math.max(opts?.timeoutMs ?? DEFAULT_LINK_TIMEOUT_MS, 1), MAX_LINK_TIMEOUT_MS);
  const answer = await askLinkObject(env, site, { op, args: parsedArgs.data, timeoutMs, idempotent: spec.idempotent, relays });
  if (!answer.ok) throw new RelayLinkError(answer.code, answer.message);
  const result = spec.result.safeParse(answer.result);
  if (!result.success) {
    log.warn("relay_link_bad_result", { site, op, relay: answer.relay });
    throw new RelayLinkError("relay_error", `the relay's ${op} answer does not fit the contract`);
  }
  return result.data as LinkResult<O>;
}

async function askLinkObject(env: Env, site: string, ask: LinkAsk): Promise<LinkAnswer> {
  try {
    return await objectStub(env, "RELAY_LINK", site).ask(ask);
  } catch (e) {
    // The link object was reset mid-request: the answer is lost with it.
    log.warn("relay_link_object_error", { site, op: ask.op, error: String(e) });
    throw new RelayLinkError("relay_error", "the relay link was interrupted");
  }
}

/** Hands an authenticated upgrade from `relay` to its site's link object; the 101 carries the socket. */
export async function openRelayLink(env: Env, relay: Relay): Promise<Response> {
  const url = new URL(LINK_CONNECT_URL);
  url.searchParams.set(LINK_RELAY_PARAM, relay.name);
  const res = await objectStub(env, "RELAY_LINK", relaySite(relay)).fetch(url, { headers: { upgrade: "websocket" } });
  // A fresh Response: the object's has immutable headers, which the security-header middleware sets.
  return new Response(null, { status: res.status, webSocket: res.webSocket });
}
