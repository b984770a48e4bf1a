import type { TLSSocket } from "node:tls";
import type { Logger } from "../log.ts";
import type { Peer, RequestClient, RequestHandler } from "../request-handler.ts";
import { FrameReader } from "./framing.ts";

/**
 * Refusals after which a stream cannot be trusted to continue: RFC 6613 §2.6.4 turns UDP's
 * "silently discard" into "discard and close the connection" for these. An unsupported code
 * (Accounting here, say) may leave it open.
 */
const CLOSE_AFTER = new Set(["malformed", "bad_message_authenticator", "missing_message_authenticator"]);

export interface ConnectionLimits {
  idleMs: number;
  maxInFlight: number;
}

/**
 * One authenticated RadSec connection: frames packets out of the stream, hands each to the
 * RequestHandler (at most `maxInFlight` at once: beyond that, and while replies wait for a slow
 * reader, it stops reading, so TCP pushes back and memory stays bounded), writes the replies,
 * and closes on a bad frame, after a refused packet, or when idle.
 */
export class RadsecConnection {
  readonly #socket: TLSSocket;
  readonly #peer: Peer;
  readonly #client: RequestClient;
  readonly #handler: RequestHandler;
  readonly #log: Logger;
  readonly #limits: ConnectionLimits;
  readonly #reader = new FrameReader();
  /** Framed packets waiting for an in-flight slot. */
  readonly #queue: Buffer[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #draining = false;

  constructor(
    socket: TLSSocket,
    parts: { peer: Peer; client: RequestClient; handler: RequestHandler; log: Logger; limits: ConnectionLimits },
  ) {
    this.#socket = socket;
    this.#peer = parts.peer;
    this.#client = parts.client;
    this.#handler = parts.handler;
    this.#log = parts.log;
    this.#limits = parts.limits;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("drain", () => this.#pump());
    socket.on("error", (e) => this.#log.log("debug", "connection_error", { ...this.#fields(), error: e.message }));
    // Not setTimeout's callback: that is a one-time listener, and the timer fires again.
    socket.on("timeout", () => this.#onIdle());
    socket.setTimeout(this.#limits.idleMs);
  }

  /** Shutdown: read nothing more, let the requests in flight answer (up to graceMs), then close. */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    this.#queue.length = 0;
    this.#socket.pause();
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((r) => setTimeout(r, graceMs).unref())]);
    this.close();
  }

  /** Ends the TLS session (close_notify), and the socket for good if the peer lingers. */
  close(): void {
    if (this.#socket.destroyed) return;
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #fields(): Record<string, unknown> {
    return { transport: "radsec", client: this.#client.name, nas: this.#peer.address, port: this.#peer.port };
  }

  #onData(chunk: Buffer): void {
    if (this.#draining) return;
    const { packets, error } = this.#reader.push(chunk);
    this.#queue.push(...packets);
    if (error !== undefined) {
      // Nothing after a bad Length can be framed again: one line, and the stream is closed.
      this.#log.log("warn", "connection_closed", { ...this.#fields(), reason: "bad_frame", error });
      this.#queue.length = 0;
      this.#socket.destroy();
      return;
    }
    this.#pump();
  }

  /** Starts queued packets while slots are free; reads on only when all are started and replies flow. */
  #pump(): void {
    if (this.#draining || this.#socket.destroyed) return;
    while (this.#queue.length > 0 && this.#inFlight.size < this.#limits.maxInFlight) {
      const packet = this.#queue.shift();
      if (packet) this.#start(packet);
    }
    const full = this.#queue.length > 0 || this.#inFlight.size >= this.#limits.maxInFlight || this.#socket.writableNeedDrain;
    if (full) this.#socket.pause();
    else this.#socket.resume();
  }

  #start(packet: Buffer): void {
    const task = this.#handler
      .handle(packet, this.#peer, this.#client, (reply) => this.#send(reply))
      .then((refused) => {
        if (refused && CLOSE_AFTER.has(refused.dropped)) {
          this.#log.log("debug", "connection_closed", { ...this.#fields(), reason: refused.dropped });
          this.#draining = true;
          this.#socket.destroy();
        }
      })
      .catch((e: unknown) => this.#log.log("error", "handler_error", { ...this.#fields(), error: String(e) }));
    this.#inFlight.add(task);
    void task.finally(() => {
      this.#inFlight.delete(task);
      this.#pump();
    });
  }

  #send(reply: Buffer): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    this.#socket.write(reply);
  }

  /** No traffic for idleMs: close unless a request is still being decided (a Touch may wait long). */
  #onIdle(): void {
    if (this.#inFlight.size > 0) {
      this.#socket.setTimeout(this.#limits.idleMs); // re-armed: look again later
      return;
    }
    this.#log.log("info", "connection_closed", { ...this.#fields(), reason: "idle_timeout" });
    this.close();
  }
}
