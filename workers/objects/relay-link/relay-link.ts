import { DurableObject } from "cloudflare:workers";
import { LinkResponseFrame, type LinkRequestFrame } from "../../../core/contracts/relay-link";
import { log } from "../../lib/log";
import { LINK_PING, LINK_PONG, LINK_RELAY_PARAM, LINK_STALE_AFTER_MS, type LinkAnswer, type LinkAsk } from "./contract";
import { askOrder, type SocketInfo } from "./pick";

/** What each accepted socket carries through hibernation (serializeAttachment). */
interface Attachment {
  relay: string;
  /** This connection's own id: answers count only on the socket that was asked. */
  conn: string;
  connectedAt: number;
}

interface Pending {
  ask: LinkAsk;
  frame: string;
  /** The sockets not yet tried, in order. */
  next: SocketInfo<WebSocket>[];
  /** The connection the request is out on (null before the first send). */
  conn: string | null;
  relay: string;
  resolve: (a: LinkAnswer) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The close code a relay sees when the edge drops its socket on purpose (replaced, stale, unconfigured). */
const CLOSE_POLICY = 4000;

/**
 * The relay link of one site (workers/config/schema.ts relaySite): the WebSockets its relays
 * keep open to the edge, accepted with the Hibernation API (tag = relay name), so an idle
 * link costs nothing: keepalive pings are answered by the runtime without waking the object.
 *
 * Pending requests live in memory only, and only while ask() is running: the object cannot
 * hibernate with an RPC in flight, and if it is evicted anyway the ask() call fails with it
 * (askRelay turns that into a RelayLinkError). Nothing is kept in storage because the only
 * one who could use a late answer is that call. Why one object per site:
 * docs/decisions/0012-relay-link-one-object-per-site.md.
 */
export class RelayLink extends DurableObject<Env> {
  readonly #pending = new Map<string, Pending>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(LINK_PING, LINK_PONG));
  }

  /** An upgrade the route has authenticated: the relay's name is in the internal URL. */
  override async fetch(request: Request): Promise<Response> {
    const relay = new URL(request.url).searchParams.get(LINK_RELAY_PARAM);
    if (!relay) return new Response("relay name missing", { status: 400 });
    // A relay that dials again (its side saw the old link die) replaces its old socket here,
    // which may still look open: answers would otherwise be awaited on a dead socket.
    for (const old of this.ctx.getWebSockets(relay)) closeQuietly(old, CLOSE_POLICY, "replaced by a new link from the same relay");
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [relay]);
    server.serializeAttachment({ relay, conn: crypto.randomUUID(), connectedAt: Date.now() } satisfies Attachment);
    log.info("relay_link_connected", { relay, sockets: this.ctx.getWebSockets().length });
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Asks one healthy relay of the site; fails over to the next on a send error (or, for idempotent ops, a close). */
  async ask(ask: LinkAsk): Promise<LinkAnswer> {
    const { usable, drop } = askOrder(this.#sockets(), new Set(ask.relays), Date.now(), LINK_STALE_AFTER_MS, Math.random);
    for (const s of drop) closeQuietly(s.socket, CLOSE_POLICY, "stale or no longer configured");
    if (usable.length === 0) return { ok: false, code: "no_relay", message: "no relay of this site is connected" };
    const id = crypto.randomUUID();
    const frame = JSON.stringify({ type: "request", id, op: ask.op, args: ask.args } satisfies LinkRequestFrame);
    return new Promise<LinkAnswer>((resolve) => {
      const timer = setTimeout(
        () => this.#finish(id, { ok: false, code: "timeout", message: `no answer within ${ask.timeoutMs} ms` }),
        ask.timeoutMs,
      );
      this.#pending.set(id, { ask, frame, next: usable, conn: null, relay: "", resolve, timer });
      this.#sendNext(id);
    });
  }

  /** Sends the request on the next socket that takes it; none left: no_relay. */
  #sendNext(id: string): void {
    const p = this.#pending.get(id);
    if (!p) return;
    for (let s = p.next.shift(); s; s = p.next.shift()) {
      const att = attachment(s.socket);
      if (!att) continue;
      try {
        s.socket.send(p.frame);
        p.conn = att.conn;
        p.relay = att.relay;
        return;
      } catch (e) {
        log.warn("relay_link_send_failed", { relay: att.relay, error: String(e) });
      }
    }
    this.#finish(id, { ok: false, code: "no_relay", message: "no connected relay took the request" });
  }

  #finish(id: string, answer: LinkAnswer): void {
    const p = this.#pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.#pending.delete(id);
    p.resolve(answer);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const att = attachment(ws);
    const frame = typeof message === "string" ? LinkResponseFrame.safeParse(safeJson(message)) : null;
    if (!att || !frame?.success) {
      log.warn("relay_link_bad_frame", { relay: att?.relay, bytes: typeof message === "string" ? message.length : message.byteLength });
      return;
    }
    const f = frame.data;
    const p = this.#pending.get(f.id);
    // An answer to nothing this socket was asked (late, forged, or another relay's id): dropped.
    if (!p || p.conn !== att.conn) {
      log.warn("relay_link_unexpected_response", { relay: att.relay });
      return;
    }
    this.#finish(
      f.id,
      f.ok ? { ok: true, result: f.result, relay: att.relay } : { ok: false, code: f.error.code, message: f.error.message },
    );
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#lost(ws, `closed ${code} ${reason}`.trim());
    // Completes the closing handshake (the relay re-dials on its side).
    closeQuietly(ws, 1000, "closed");
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.#lost(ws, String(error));
  }

  /** A socket went away: what was out on it moves to the next relay when it may run twice, else fails. */
  #lost(ws: WebSocket, why: string): void {
    const att = attachment(ws);
    if (!att) return;
    log.info("relay_link_disconnected", { relay: att.relay, why });
    for (const [id, p] of this.#pending) {
      if (p.conn !== att.conn) continue;
      if (p.ask.idempotent) this.#sendNext(id);
      else this.#finish(id, { ok: false, code: "relay_error", message: "the relay's link closed before it answered" });
    }
  }

  #sockets(): SocketInfo<WebSocket>[] {
    return this.ctx.getWebSockets().flatMap((socket) => {
      const att = attachment(socket);
      if (!att) return [];
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(socket)?.getTime() ?? 0;
      return [
        { socket, relay: att.relay, open: socket.readyState === WebSocket.READY_STATE_OPEN, lastSeen: Math.max(pinged, att.connectedAt) },
      ];
    });
  }
}

function attachment(ws: WebSocket): Attachment | null {
  const a = ws.deserializeAttachment() as Partial<Attachment> | null;
  return a && typeof a.relay === "string" && typeof a.conn === "string" && typeof a.connectedAt === "number" ? (a as Attachment) : null;
}

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
