import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { AccountingRecorder } from "./accounting.ts";
import type { FlowDeps, LocalTotp } from "./auth-flow.ts";
import type { ChallengeStore } from "./challenge-store.ts";
import type { RelayConfig } from "./config.ts";
import type { EdgeApi } from "./edge-client.ts";
import type { FirstFactor } from "./first-factor/types.ts";
import { InFlight } from "./in-flight.ts";
import { LiveConfig } from "./live-config.ts";
import type { Logger } from "./log.ts";
import { RelayMetrics } from "./metrics.ts";
import { RadsecListener } from "./radsec/listener.ts";
import { RetransmitCache } from "./radius/dedup.ts";
import { applyReload } from "./reload.ts";
import { RequestHandler } from "./request-handler.ts";

/**
 * What this process serves. "single": everything (one process). With `processes` > 1
 * (cluster.ts): each "worker" serves only RADIUS authentication on UDP, its socket bound to
 * the shared port with SO_REUSEPORT, and the "primary" serves the rest (accounting port,
 * RadSec; the admin port, the relay link and reloads are in cli.ts) and no UDP auth.
 */
export type ServerRole = "single" | "primary" | "worker";

/**
 * The UDP side: the sockets (authentication, and accounting when configured), the client
 * lookup by source address, and the in-flight requests a shutdown waits for. Each datagram
 * goes to the RequestHandler (shared with RadSec).
 */
export class RelayServer {
  readonly #config: RelayConfig;
  readonly #live: LiveConfig;
  readonly #log: Logger;
  readonly #handler: RequestHandler;
  readonly metrics: RelayMetrics;
  #sockets: Socket[] = [];
  readonly #radsec: RadsecListener | undefined;
  readonly #inFlight = new InFlight();
  /** Replies handed to a socket and not yet written: closing the socket first would drop them. */
  readonly #sending = new InFlight();
  #listening = false;
  #closing = false;
  readonly #role: ServerRole;

  /** `challenges`: where pending Access-Challenges live (the edge, for two relays of a site: cli.ts). */
  constructor(
    config: RelayConfig,
    parts: {
      edge: EdgeApi;
      challenges: ChallengeStore;
      firstFactor: FirstFactor;
      log: Logger;
      metrics?: RelayMetrics;
      localTotp?: LocalTotp;
      role?: ServerRole;
    },
  ) {
    this.#role = parts.role ?? "single";
    this.#config = config;
    this.#live = new LiveConfig(config);
    this.#log = parts.log;
    this.metrics = parts.metrics ?? new RelayMetrics({ touchTimeoutSeconds: config.touchTimeoutSeconds });
    // In flight entries outlive the longest Touch wait; replies are cached like FreeRADIUS' cleanup_delay.
    const cache = new RetransmitCache(config.replyCacheSeconds * 1000, (config.touchTimeoutSeconds + 60) * 1000);
    const challenges = parts.challenges;
    this.metrics.sizeGauge("retransmit_cache_entries", "Requests in the retransmit cache (in flight or replied)", () => cache.size);
    this.metrics.sizeGauge(
      "pending_challenges",
      "Access-Challenges held in this process and not yet answered or expired (local TOTP; the others are kept at the edge)",
      () => challenges.size,
    );
    const deps: Omit<FlowDeps, "config"> = {
      edge: parts.edge,
      firstFactor: parts.firstFactor,
      challenges,
      now: Date.now,
      warn: (event, fields) => this.#log.log("warn", event, fields),
      ...(parts.localTotp ? { localTotp: parts.localTotp } : {}),
    };
    this.#handler = new RequestHandler({
      log: parts.log,
      cache,
      deps,
      config: () => this.#live.current,
      metrics: this.metrics,
      accounting: new AccountingRecorder(config.accounting?.forward, parts.log),
    });
    this.#radsec =
      config.radsec && this.#role !== "worker" ? new RadsecListener(config.radsec, { handler: this.#handler, log: parts.log }) : undefined;
  }

  async start(): Promise<{ address: string; port: number; accountingPort?: number; radsec?: { address: string; port: number } }> {
    const { host, port } = this.#config.listen;
    const role = this.#role;
    // The primary of several processes leaves the auth port to its workers (cluster.ts).
    const auth = role === "primary" ? { address: host, port } : await this.#bind(host, port, false, role === "worker");
    const accounting =
      this.#config.accounting && role !== "worker" ? await this.#bind(host, this.#config.accounting.port, true, false) : undefined;
    this.#listening = true;
    // A worker's own line; the primary says "listening" once every worker is bound (cluster.ts).
    this.#log.log("info", role === "worker" ? "worker_listening" : role === "primary" ? "primary_listening" : "listening", {
      address: auth.address,
      port: auth.port,
      ...(accounting ? { accountingPort: accounting.port } : {}),
      failMode: this.#config.failMode,
    });
    if (this.#config.firstFactor.type === "none" && role !== "worker") {
      this.#log.log("warn", "first_factor_none", { message: 'firstFactor is {"type":"none"}: the relay checks no password, the NAS must' });
    }
    const radsec = await this.#radsec?.start();
    return {
      address: auth.address,
      port: auth.port,
      ...(accounting ? { accountingPort: accounting.port } : {}),
      ...(radsec ? { radsec } : {}),
    };
  }

  /** True from start() until stop() begins: part of /healthz. */
  get listening(): boolean {
    return this.#listening && !this.#closing;
  }

  /** SIGHUP: clients and per-request settings from `load()`; in-flight requests keep theirs. */
  reload(load: () => RelayConfig): boolean {
    return applyReload(this.#live, load, this.#log, this.metrics);
  }

  /** Stops taking packets, lets in-flight requests finish (up to graceMs), then closes. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#log.log("info", "shutting_down", { inFlight: this.#inFlight.size });
    await Promise.all([
      Promise.race([this.#inFlight.idle(), new Promise((r) => setTimeout(r, graceMs).unref())]),
      this.#radsec?.stop(graceMs),
    ]);
    await this.#sending.idle();
    await Promise.all(this.#sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.#log.log("info", "stopped", {});
  }

  /**
   * `shared`: one of several processes on this port. SO_REUSEPORT lets each bind it; the kernel
   * then picks the socket by a hash of the sender's address and port, so a NAS's retransmission
   * reaches the process that holds its retransmit-cache entry. Node 22 binds a reusePort socket
   * in the worker itself; `exclusive` says so too, so node:cluster never hands every worker the
   * primary's one socket instead (any packet to any process: a retransmission could start a
   * second Touch; test/relay/relay-processes.test.ts fails that way).
   */
  async #bind(host: string, port: number, accountingPort: boolean, shared: boolean): Promise<{ address: string; port: number }> {
    const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", reuseAddr: false, ...(shared ? { reusePort: true } : {}) });
    socket.on("message", (msg, rinfo) => this.#onMessage(socket, accountingPort, msg, rinfo));
    socket.on("error", (err) => this.#log.log("error", "socket_error", { error: err.message }));
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ port, address: host, exclusive: shared }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    this.#sockets.push(socket);
    const addr = socket.address();
    return { address: addr.address, port: addr.port };
  }

  #onMessage(socket: Socket, accountingPort: boolean, msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closing) return;
    const done = this.#inFlight.begin();
    this.#handle(socket, accountingPort, msg, rinfo).then(done, (e: unknown) => {
      try {
        this.#log.log("error", "handler_error", { nas: rinfo.address, error: String(e) });
      } finally {
        done();
      }
    });
  }

  async #handle(socket: Socket, accountingPort: boolean, msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const peer = { transport: "udp", address: rinfo.address, port: rinfo.port, accountingPort } as const;
    const client = this.#live.clients.match(rinfo.address);
    if (!client) {
      this.#handler.drop("unknown_client", peer);
      return;
    }
    await this.#handler.handle(msg, peer, client, (reply) => this.#send(socket, reply, rinfo));
  }

  #send(socket: Socket, packet: Buffer, rinfo: RemoteInfo): void {
    const sent = this.#sending.begin();
    const finished = (err: Error | null) => {
      try {
        if (err) this.#log.log("warn", "send_failed", { nas: rinfo.address, error: err.message });
      } finally {
        sent();
      }
    };
    try {
      socket.send(packet, rinfo.port, rinfo.address, finished);
    } catch (err) {
      finished(err as Error); // a socket already closed throws here rather than calling back
    }
  }
}
