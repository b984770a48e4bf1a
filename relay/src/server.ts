import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { FlowDeps, LocalTotp } from "./auth-flow.ts";
import type { ChallengeStore } from "./challenge-store.ts";
import type { RelayConfig } from "./config.ts";
import type { EdgeApi } from "./edge-client.ts";
import type { FirstFactor } from "./first-factor/types.ts";
import type { Logger } from "./log.ts";
import { RadsecListener } from "./radsec/listener.ts";
import { ClientTable } from "./radius/clients.ts";
import { RetransmitCache } from "./radius/dedup.ts";
import { RequestHandler } from "./request-handler.ts";

/**
 * The UDP side: the socket, the client lookup by source address, and the in-flight requests a
 * shutdown waits for. Each datagram goes to the RequestHandler (shared with RadSec).
 */
export class RelayServer {
  readonly #config: RelayConfig;
  readonly #log: Logger;
  readonly #clients: ClientTable;
  readonly #handler: RequestHandler;
  #socket: Socket | undefined;
  readonly #radsec: RadsecListener | undefined;
  #inFlight = new Set<Promise<void>>();
  #closing = false;

  /** `challenges`: where pending Access-Challenges live (the edge, for two relays of a site: cli.ts). */
  constructor(
    config: RelayConfig,
    parts: { edge: EdgeApi; challenges: ChallengeStore; firstFactor: FirstFactor; log: Logger; localTotp?: LocalTotp },
  ) {
    this.#config = config;
    this.#log = parts.log;
    this.#clients = new ClientTable(config.clients);
    // In flight entries outlive the longest Touch wait; replies are cached like FreeRADIUS' cleanup_delay.
    const cache = new RetransmitCache(config.replyCacheSeconds * 1000, (config.touchTimeoutSeconds + 60) * 1000);
    const deps: FlowDeps = {
      config,
      edge: parts.edge,
      firstFactor: parts.firstFactor,
      challenges: parts.challenges,
      now: Date.now,
      warn: (event, fields) => this.#log.log("warn", event, fields),
      ...(parts.localTotp ? { localTotp: parts.localTotp } : {}),
    };
    this.#handler = new RequestHandler({ log: parts.log, cache, deps });
    this.#radsec = config.radsec ? new RadsecListener(config.radsec, { handler: this.#handler, log: parts.log }) : undefined;
  }

  async start(): Promise<{ address: string; port: number; radsec?: { address: string; port: number } }> {
    const { host, port } = this.#config.listen;
    const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", reuseAddr: false });
    this.#socket = socket;
    socket.on("message", (msg, rinfo) => this.#onMessage(msg, rinfo));
    socket.on("error", (err) => this.#log.log("error", "socket_error", { error: err.message }));
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    const addr = socket.address();
    this.#log.log("info", "listening", { address: addr.address, port: addr.port, failMode: this.#config.failMode });
    if (this.#config.firstFactor.type === "none") {
      this.#log.log("warn", "first_factor_none", { message: 'firstFactor is {"type":"none"}: the relay checks no password, the NAS must' });
    }
    const radsec = await this.#radsec?.start();
    return { address: addr.address, port: addr.port, ...(radsec ? { radsec } : {}) };
  }

  /** Stops taking packets, lets in-flight requests finish (up to graceMs), then closes. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#log.log("info", "shutting_down", { inFlight: this.#inFlight.size });
    await Promise.all([
      Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((r) => setTimeout(r, graceMs).unref())]),
      this.#radsec?.stop(graceMs),
    ]);
    await new Promise<void>((resolve) => (this.#socket ? this.#socket.close(() => resolve()) : resolve()));
    this.#log.log("info", "stopped", {});
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closing) return;
    const task = this.#handle(msg, rinfo).catch((e: unknown) =>
      this.#log.log("error", "handler_error", { nas: rinfo.address, error: String(e) }),
    );
    this.#inFlight.add(task);
    void task.finally(() => this.#inFlight.delete(task));
  }

  async #handle(msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const peer = { transport: "udp", address: rinfo.address, port: rinfo.port } as const;
    const client = this.#clients.match(rinfo.address);
    if (!client) {
      this.#handler.drop("unknown_client", peer);
      return;
    }
    await this.#handler.handle(msg, peer, client, (reply) => this.#send(reply, rinfo));
  }

  #send(packet: Buffer, rinfo: RemoteInfo): void {
    this.#socket?.send(packet, rinfo.port, rinfo.address, (err) => {
      if (err) this.#log.log("warn", "send_failed", { nas: rinfo.address, error: err.message });
    });
  }
}
