import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { decide, type Decision, type FlowDeps } from "./auth-flow.ts";
import type { ChallengeStore } from "./challenge-store.ts";
import { normalizeNasAddress } from "../../core/contracts/relay-challenge.ts";
import type { RelayConfig } from "./config.ts";
import type { EdgeApi } from "./edge-client.ts";
import type { FirstFactor } from "./first-factor/types.ts";
import type { Logger } from "./log.ts";
import { ClientTable } from "./radius/clients.ts";
import { RetransmitCache } from "./radius/dedup.ts";
import { PacketError, decodeRequest, encodeReply, peekCode, type RadiusRequest } from "./radius/packet.ts";

const ACCESS_REQUEST = 1;
const STATUS_SERVER = 12;

/**
 * The UDP side: client lookup by source address, decoding and authentication of packets,
 * retransmission handling, and replies. Anything malformed or unauthenticated is dropped
 * with a log line; nothing a packet contains can crash the process.
 */
export class RelayServer {
  readonly #config: RelayConfig;
  readonly #log: Logger;
  readonly #clients: ClientTable;
  readonly #cache: RetransmitCache;
  readonly #deps: FlowDeps;
  #socket: Socket | undefined;
  #inFlight = new Set<Promise<void>>();
  #closing = false;

  /** `challenges`: where pending Access-Challenges live (the edge, for two relays of a site: cli.ts). */
  constructor(config: RelayConfig, parts: { edge: EdgeApi; challenges: ChallengeStore; firstFactor: FirstFactor; log: Logger }) {
    this.#config = config;
    this.#log = parts.log;
    this.#clients = new ClientTable(config.clients);
    // In flight entries outlive the longest Touch wait; replies are cached like FreeRADIUS' cleanup_delay.
    this.#cache = new RetransmitCache(config.replyCacheSeconds * 1000, (config.touchTimeoutSeconds + 60) * 1000);
    this.#deps = {
      config,
      edge: parts.edge,
      firstFactor: parts.firstFactor,
      challenges: parts.challenges,
      now: Date.now,
      warn: (event, fields) => this.#log.log("warn", event, fields),
    };
  }

  async start(): Promise<{ address: string; port: number }> {
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
    return { address: addr.address, port: addr.port };
  }

  /** Stops taking packets, lets in-flight requests finish (up to graceMs), then closes. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#log.log("info", "shutting_down", { inFlight: this.#inFlight.size });
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((r) => setTimeout(r, graceMs).unref())]);
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
    const nas = rinfo.address;
    const client = this.#clients.match(nas);
    if (!client) return this.#drop("unknown_client", nas);
    const code = msg.length > 0 ? peekCode(msg) : -1;
    if (code !== ACCESS_REQUEST && code !== STATUS_SERVER) return this.#drop("unsupported_code", nas, { code, client: client.name });

    let req: RadiusRequest;
    try {
      req = decodeRequest(msg, client.secret);
    } catch (e) {
      const reason = e instanceof PacketError ? e.message : String(e);
      return this.#drop(/Message-Authenticator mismatch/.test(reason) ? "bad_message_authenticator" : "malformed", nas, {
        client: client.name,
        error: reason,
      });
    }
    // Status-Server (RFC 5997) must be authenticated; Access-Request when the client requires it.
    if ((code === STATUS_SERVER || client.requireMessageAuthenticator) && !req.hasMessageAuthenticator) {
      return this.#drop("missing_message_authenticator", nas, { client: client.name });
    }
    const source = `${nas}:${rinfo.port}`;
    const now = Date.now();
    const admission = this.#cache.admit(source, req.identifier, req.authenticator, now);
    if (admission.kind === "in_flight") return this.#log.log("debug", "duplicate_in_flight", { nas, id: req.identifier });
    if (admission.kind === "cached") {
      this.#log.log("debug", "duplicate_resent", { nas, id: req.identifier });
      return this.#send(admission.reply, rinfo);
    }

    if (code === STATUS_SERVER) {
      const reply = encodeReply(req, "Access-Accept", [], client.secret);
      if (this.#cache.complete(source, req.identifier, admission.ticket, reply, Date.now())) this.#send(reply, rinfo);
      return;
    }

    const user = typeof req.attributes["User-Name"] === "string" ? (req.attributes["User-Name"] as string) : "";
    const password = typeof req.attributes["User-Password"] === "string" ? (req.attributes["User-Password"] as string) : "";
    const state = Buffer.isBuffer(req.attributes.State) ? (req.attributes.State as Buffer) : undefined;
    const nasIdentifier = stringAttribute(req, "NAS-Identifier");
    const nasIpAddress = stringAttribute(req, "NAS-IP-Address");
    const started = Date.now();
    const decision: Decision = user
      ? await decide(
          {
            user,
            password,
            source: normalizeNasAddress(nas),
            ...(nasIdentifier !== undefined ? { nasIdentifier } : {}),
            ...(nasIpAddress !== undefined ? { nasIpAddress } : {}),
            ...(state ? { state } : {}),
            ...(client.secondFactor ? { clientSecondFactor: client.secondFactor } : {}),
          },
          this.#deps,
        ).catch((e: unknown): Decision => ({ code: "Access-Reject", reason: `error: ${String(e)}` }))
      : { code: "Access-Reject", reason: "no User-Name" };

    const attrs: Array<[string, string | Buffer]> = [];
    if (decision.replyMessage) attrs.push(["Reply-Message", decision.replyMessage]);
    if (decision.state) attrs.push(["State", decision.state]);
    const reply = encodeReply(req, decision.code, attrs, client.secret);
    this.#log.log("info", "auth", {
      client: client.name,
      nas,
      user,
      method: decision.method,
      result: decision.code,
      reason: decision.reason,
      latencyMs: Date.now() - started,
    });
    if (this.#cache.complete(source, req.identifier, admission.ticket, reply, Date.now())) this.#send(reply, rinfo);
    else this.#log.log("debug", "superseded_reply_discarded", { nas, id: req.identifier });
  }

  #send(packet: Buffer, rinfo: RemoteInfo): void {
    this.#socket?.send(packet, rinfo.port, rinfo.address, (err) => {
      if (err) this.#log.log("warn", "send_failed", { nas: rinfo.address, error: err.message });
    });
  }

  #drop(reason: string, nas: string, fields: Record<string, unknown> = {}): void {
    this.#log.log("warn", "packet_dropped", { reason, nas, ...fields });
  }
}

function stringAttribute(req: RadiusRequest, name: string): string | undefined {
  const v = req.attributes[name];
  return typeof v === "string" ? v : undefined;
}
