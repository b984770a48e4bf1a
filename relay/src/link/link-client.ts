import type { CryptoKey as JoseKey, KeyObject } from "jose";
import { WebSocket } from "undici";
import { RELAY_LINK_PATH } from "../../../core/contracts/relay-link.ts";
import { mintRelayToken } from "../../../core/contracts/relay-token.ts";
import type { Logger } from "../log.ts";
import { backoffDelayMs, DEFAULT_BACKOFF, nextAttempt, type BackoffPolicy } from "./backoff.ts";
import type { LinkDispatcher } from "./dispatch.ts";

/** The keepalive text both ends agree on (workers/objects/relay-link/contract.ts answers it without waking). */
const PING = "ping";
const PONG = "pong";

export interface LinkClientOptions {
  /** The edge's base URL (http(s)://host[:port]); the link dials ws(s):// on the same origin. */
  edgeUrl: string;
  relayName: string;
  key: JoseKey | KeyObject;
  dispatcher: LinkDispatcher;
  log: Logger;
  backoff?: BackoffPolicy;
  /** A ping this often; no pong within pongTimeoutMs and the link is taken for dead (half-open) and re-dialled. */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** Max time for the upgrade itself. */
  connectTimeoutMs?: number;
}

/**
 * The relay's outbound WebSocket to the edge (core/contracts/relay-link.ts): dials with a relay
 * token in the Authorization header (undici's WebSocket takes headers, unlike the browser's,
 * so the token never sits in a URL that proxies log), answers the edge's requests through the
 * dispatcher, pings to notice a half-open link, and re-dials with back-off and jitter until
 * stop(). Never throws out of its loop: every failure is a log line and another dial.
 */
export class LinkClient {
  readonly #o: Required<Omit<LinkClientOptions, "backoff">> & { backoff: BackoffPolicy };
  #ws: WebSocket | null = null;
  #stopped = true;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #pongTimer: NodeJS.Timeout | undefined;
  #openedAt = 0;
  #connected = false;

  constructor(opts: LinkClientOptions) {
    this.#o = { pingIntervalMs: 20_000, pongTimeoutMs: 10_000, connectTimeoutMs: 10_000, backoff: DEFAULT_BACKOFF, ...opts };
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#dial();
  }

  /** Closes the link and stops re-dialling; resolves once the socket is closed (or after 2 s). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#clearKeepalive();
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 2_000);
      ws.addEventListener("close", () => {
        clearTimeout(done);
        resolve();
      });
      ws.close(1000, "relay stopping");
    });
  }

  async #dial(): Promise<void> {
    if (this.#stopped) return;
    const origin = new URL(this.#o.edgeUrl).origin;
    const url = `${origin.replace(/^http/, "ws")}${RELAY_LINK_PATH}`;
    let token: string;
    try {
      token = await mintRelayToken(this.#o.key, this.#o.relayName, origin, "GET", RELAY_LINK_PATH, "");
    } catch (e) {
      this.#o.log.log("error", "link_token_failed", { error: (e as Error).message });
      return this.#retry(0);
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    } catch (e) {
      this.#o.log.log("error", "link_dial_failed", { error: (e as Error).message });
      return this.#retry(0);
    }
    this.#ws = ws;
    const connectTimer = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) {
        this.#o.log.log("warn", "link_connect_timeout", { ms: this.#o.connectTimeoutMs });
        ws.close();
      }
    }, this.#o.connectTimeoutMs);

    ws.addEventListener("open", () => {
      clearTimeout(connectTimer);
      this.#openedAt = Date.now();
      this.#connected = true;
      this.#o.log.log("info", "link_connected", { edge: origin, ops: this.#o.dispatcher.ops() });
      this.#keepalive(ws);
    });
    ws.addEventListener("message", (ev) => {
      if (typeof ev.data !== "string") {
        this.#o.log.log("warn", "link_bad_frame", { binary: true });
        return;
      }
      if (ev.data === PONG) {
        clearTimeout(this.#pongTimer);
        return;
      }
      void this.#o.dispatcher.handle(ev.data).then((response) => {
        if (response && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(response));
      });
    });
    ws.addEventListener("error", (ev) => {
      // A close follows every error; the re-dial happens there.
      this.#o.log.log("warn", "link_error", { error: String((ev as { error?: unknown }).error ?? "websocket error") });
    });
    ws.addEventListener("close", (ev) => {
      clearTimeout(connectTimer);
      // A socket given up on already (no pong) was replaced by a new dial: nothing more to do.
      if (this.#ws !== ws) return;
      this.#clearKeepalive();
      const upMs = this.#connected ? Date.now() - this.#openedAt : 0;
      if (this.#connected) this.#o.log.log("warn", "link_closed", { code: ev.code, reason: ev.reason, upMs });
      this.#ws = null;
      this.#connected = false;
      this.#retry(upMs);
    });
  }

  #retry(upMs: number): void {
    if (this.#stopped) return;
    this.#attempt = nextAttempt(this.#attempt, upMs, this.#o.backoff);
    const delay = backoffDelayMs(this.#attempt - 1, this.#o.backoff);
    this.#o.log.log("info", "link_redial", { inMs: delay, attempt: this.#attempt });
    this.#retryTimer = setTimeout(() => void this.#dial(), delay);
  }

  #keepalive(ws: WebSocket): void {
    this.#clearKeepalive();
    this.#pingTimer = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(PING);
      clearTimeout(this.#pongTimer);
      this.#pongTimer = setTimeout(() => {
        this.#o.log.log("warn", "link_pong_missing", { ms: this.#o.pongTimeoutMs });
        // Half-open: a clean close may never complete, so the socket is dropped outright.
        ws.close(4001, "no pong");
        this.#forceClosed(ws);
      }, this.#o.pongTimeoutMs);
    }, this.#o.pingIntervalMs);
  }

  /** If the close handshake does not finish soon, act as if it had (the peer is gone). */
  #forceClosed(ws: WebSocket): void {
    setTimeout(() => {
      if (this.#ws === ws && ws.readyState !== WebSocket.CLOSED) {
        this.#clearKeepalive();
        this.#ws = null;
        this.#connected = false;
        this.#retry(0);
      }
    }, 2_000).unref();
  }

  #clearKeepalive(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
  }
}
