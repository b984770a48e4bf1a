import { normalizeNasAddress } from "../../core/contracts/relay-challenge.ts";
import { decide, type Decision, type FlowDeps } from "./auth-flow.ts";
import type { ClientConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { RetransmitCache } from "./radius/dedup.ts";
import { PacketError, decodeRequest, encodeReply, peekCode, type RadiusRequest } from "./radius/packet.ts";

const ACCESS_REQUEST = 1;
const STATUS_SERVER = 12;

/** What handle() needs of a client: UDP clients and RadSec clients (secret "radsec") both fit. */
export type RequestClient = Pick<ClientConfig, "name" | "secret" | "requireMessageAuthenticator" | "secondFactor" | "totpSource">;

/** A packet refused without a reply, and why (the reason is also logged). */
export interface Dropped {
  dropped: string;
}

/** Where a packet came from: the transport, and the peer's address and port on it. */
export interface Peer {
  transport: "udp" | "radsec";
  address: string;
  port: number;
}

/**
 * One RADIUS request, whatever carried it: authentication of the packet (Message-Authenticator
 * rules), retransmission handling, Status-Server, the decision, the signed reply and the auth
 * log. A transport (UDP socket, RadSec TLS stream) finds the client, hands the bytes here and
 * sends what comes back through `send`. Anything malformed or unauthenticated is dropped with
 * one log line; nothing a packet contains can throw out of handle().
 */
export class RequestHandler {
  readonly #log: Logger;
  readonly #cache: RetransmitCache;
  readonly #deps: FlowDeps;

  constructor(parts: { log: Logger; cache: RetransmitCache; deps: FlowDeps }) {
    this.#log = parts.log;
    this.#cache = parts.cache;
    this.#deps = parts.deps;
  }

  async handle(msg: Buffer, peer: Peer, client: RequestClient, send: (reply: Buffer) => void): Promise<Dropped | undefined> {
    const nas = peer.address;
    const code = msg.length > 0 ? peekCode(msg) : -1;
    if (code !== ACCESS_REQUEST && code !== STATUS_SERVER) return this.drop("unsupported_code", peer, { code, client: client.name });

    let req: RadiusRequest;
    try {
      req = decodeRequest(msg, client.secret);
    } catch (e) {
      const reason = e instanceof PacketError ? e.message : String(e);
      return this.drop(/Message-Authenticator mismatch/.test(reason) ? "bad_message_authenticator" : "malformed", peer, {
        client: client.name,
        error: reason,
      });
    }
    // Status-Server (RFC 5997) must be authenticated; Access-Request when the client requires it.
    if ((code === STATUS_SERVER || client.requireMessageAuthenticator) && !req.hasMessageAuthenticator) {
      return this.drop("missing_message_authenticator", peer, { client: client.name });
    }
    const source = `${peer.transport}:${nas}:${peer.port}`;
    const admission = this.#cache.admit(source, req.identifier, req.authenticator, Date.now());
    if (admission.kind === "in_flight") {
      this.#log.log("debug", "duplicate_in_flight", { nas, id: req.identifier });
      return;
    }
    if (admission.kind === "cached") {
      this.#log.log("debug", "duplicate_resent", { nas, id: req.identifier });
      send(admission.reply);
      return;
    }

    if (code === STATUS_SERVER) {
      const reply = encodeReply(req, "Access-Accept", [], client.secret);
      if (this.#cache.complete(source, req.identifier, admission.ticket, reply, Date.now())) send(reply);
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
            ...(client.totpSource ? { clientTotpSource: client.totpSource } : {}),
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
      transport: peer.transport,
      nas,
      user,
      method: decision.method,
      result: decision.code,
      reason: decision.reason,
      latencyMs: Date.now() - started,
    });
    if (this.#cache.complete(source, req.identifier, admission.ticket, reply, Date.now())) send(reply);
    else this.#log.log("debug", "superseded_reply_discarded", { nas, id: req.identifier });
  }

  /** A refused packet (or connection): one warn line, nothing sent. */
  drop(reason: string, peer: Pick<Peer, "transport" | "address">, fields: Record<string, unknown> = {}): Dropped {
    this.#log.log("warn", "packet_dropped", { reason, transport: peer.transport, nas: peer.address, ...fields });
    return { dropped: reason };
  }
}

function stringAttribute(req: RadiusRequest, name: string): string | undefined {
  const v = req.attributes[name];
  return typeof v === "string" ? v : undefined;
}
