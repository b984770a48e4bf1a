/** What callers of a RelayLink object get and give: its RPC arguments and results. */
import type { LinkErrorCode } from "../../../core/contracts/relay-link";

/** One question to the site's relays. `relays`: the names configured for the site right now. */
export interface LinkAsk {
  op: string;
  args: unknown;
  timeoutMs: number;
  /** An op that may run twice: re-asked on another relay when the first one's link closes mid-request. */
  idempotent: boolean;
  relays: string[];
}

/** The relay's answer, unvalidated (askRelay checks it against the op's result schema). */
export type LinkAnswer = { ok: true; result: unknown; relay: string } | { ok: false; code: LinkErrorCode; message: string };

/** The internal URL the route forwards an authenticated upgrade to; `relay` names the caller. */
export const LINK_CONNECT_URL = "https://relay-link.internal/connect";
export const LINK_RELAY_PARAM = "relay";

/**
 * The relay's keepalive: it sends exactly this text and the object answers PONG without
 * waking up (setWebSocketAutoResponse), so an idle link costs nothing. A socket without a
 * ping for STALE_AFTER_MS is half-open and never asked.
 */
export const LINK_PING = "ping";
export const LINK_PONG = "pong";
export const LINK_STALE_AFTER_MS = 75_000;
