import { normalizeNasAddress } from "../../core/contracts/relay-challenge.ts";
import type { AccountingRecorder } from "./accounting.ts";
import { decide, type Decision, type FlowDeps } from "./auth-flow.ts";
import type { ClientConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { RelayMetrics } from "./metrics.ts";
import type { RetransmitCache } from "./radius/dedup.ts";
import {
  ACCOUNTING_REQUEST,
  PacketError,
  decodeRequest,
  encodeAccountingResponse,
  encodeReply,
  peekCode,
  type RadiusRequest,
} from "./radius/packet.ts";

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
  /**
   * UDP only: the packet came to the accounting port, which serves Accounting-Request and
   * Status-Server (answered with Accounting-Response, RFC 5997 §3), not logins.
   */
  accountingPort?: boolean;
}

/**
 * One RADIUS request, whatever carried it: authentication of the packet (Message-Authenticator
 * rules), retransmission handling, Status-Server, accounting, the decision, the signed reply,
 * the auth log and the metrics. A transport (UDP socket, RadSec TLS stream) finds the client,
 * hands the bytes here and sends what comes back through `send`. Anything malformed or
 * unauthenticated is dropped with one log line; nothing a packet contains can throw out of
 * handle().
 */
export class RequestHandler {
  readonly #log: Logger;
  readonly #cache: RetransmitCache;
  readonly #deps: Omit<FlowDeps, "config">;
  readonly #config: () => FlowDeps["config"];
  readonly #metrics: RelayMetrics;
  readonly #accounting: AccountingRecorder;

  /** `config`: the settings now (they change on reload); each request reads them once, on arrival. */
  constructor(parts: {
    log: Logger;
    cache: RetransmitCache;
    deps: Omit<FlowDeps, "config">;
    config: () => FlowDeps["config"];
    metrics: RelayMetrics;
    accounting: AccountingRecorder;
  }) {
    this.#log = parts.log;
    this.#cache = parts.cache;
    this.#deps = parts.deps;
    this.#config = parts.config;
    this.#metrics = parts.metrics;
    this.#accounting = parts.accounting;
  }

  async handle(msg: Buffer, peer: Peer, client: RequestClient, send: (reply: Buffer) => void): Promise<Dropped | undefined> {
    // Read once: a reload while this request runs does not change the settings it uses.
    const config = this.#config();
    const nas = peer.address;
    const code = msg.length > 0 ? peekCode(msg) : -1;
    if (code !== ACCESS_REQUEST && code !== STATUS_SERVER && code !== ACCOUNTING_REQUEST) {
      return this.drop("unsupported_code", peer, { code, client: client.name });
    }
    if (peer.accountingPort && code === ACCESS_REQUEST) return this.drop("login_on_accounting_port", peer, { client: client.name });

    let req: RadiusRequest;
    try {
      req = decodeRequest(msg, client.secret);
    } catch (e) {
      const reason = e instanceof PacketError ? e.message : String(e);
      const bad = /Message-Authenticator mismatch/.test(reason)
        ? "bad_message_authenticator"
        : /Request Authenticator mismatch/.test(reason)
          ? "bad_request_authenticator"
          : "malformed";
      return this.drop(bad, peer, {
        client: client.name,
        error: reason,
      });
    }
    // Status-Server (RFC 5997) must be authenticated; Access-Request when the client requires
    // it. An Accounting-Request's Request Authenticator already is a keyed hash of the packet.
    if ((code === STATUS_SERVER || (code === ACCESS_REQUEST && client.requireMessageAuthenticator)) && !req.hasMessageAuthenticator) {
      return this.drop("missing_message_authenticator", peer, { client: client.name });
    }
    // Accounting has an identifier space of its own (RFC 5080 §2.2.1: another port on UDP).
    const accounting = code === ACCOUNTING_REQUEST || peer.accountingPort === true;
    const source = `${peer.transport}:${nas}:${peer.port}${accounting ? "/acct" : ""}`;
    const admission = this.#cache.admit(source, req.identifier, req.authenticator, Date.now());
    if (admission.kind === "in_flight") {
      this.#metrics.retransmit("in_flight");
      this.#log.log("debug", "duplicate_in_flight", { nas, id: req.identifier });
      return;
    }
    if (admission.kind === "cached") {
      this.#metrics.retransmit("cached");
      this.#log.log("debug", "duplicate_resent", { nas, id: req.identifier });
      send(admission.reply);
      return;
    }
    const finished = this.#metrics.begin();
    const counted = { client: client.name, transport: peer.transport };

    if (code === STATUS_SERVER) {
      const answer = peer.accountingPort ? "Accounting-Response" : "Access-Accept";
      const reply = encodeReply(req, answer, [], client.secret);
      if (this.#cache.complete(source, req.identifier, admission.ticket, reply, Date.now())) send(reply);
      finished({ ...counted, method: "status-server", result: answer });
      return;
    }

    if (code === ACCOUNTING_REQUEST) {
      const recorded = await this.#accounting.record(req, { client: client.name, transport: peer.transport, nas }).catch((e: unknown) => {
        this.#log.log("error", "accounting_error", { nas, error: String(e) });
        return false;
      });
      if (!recorded) {
        // Not acknowledged: the NAS keeps the record and retransmits, and that copy is tried anew.
        this.#cache.abandon(source, req.identifier, admission.ticket);
        finished({ ...counted, method: "accounting", result: "none" });
        return;
      }
      const reply = encodeAccountingResponse(req, client.secret);
      if (this.#cache.complete(source, req.identifier, admission.ticket, reply, Date.now())) send(reply);
      finished({ ...counted, method: "accounting", result: "Accounting-Response" });
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
          { ...this.#deps, config },
        ).catch((e: unknown): Decision => ({ code: "Access-Reject", reason: `error: ${String(e)}` }))
      : { code: "Access-Reject", reason: "no User-Name" };

    const attrs: Array<[string, string | Buffer]> = [];
    if (decision.replyMessage) attrs.push(["Reply-Message", decision.replyMessage]);
    if (decision.state) attrs.push(["State", decision.state]);
    const reply = encodeReply(req, decision.code, attrs, client.secret);
    // Queued before the reply goes; the line reaches stdout in the write that ends this
    // event-loop round (log.ts batches), so whoever has the reply finds it a moment later.
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
    const sent = this.#cache.complete(source, req.identifier, admission.ticket, reply, Date.now());
    if (sent) send(reply);
    else this.#log.log("debug", "superseded_reply_discarded", { nas, id: req.identifier });
    finished({ ...counted, method: decision.method ?? "none", result: sent ? decision.code : "none" });
  }

  /** A refused packet (or connection): one warn line and a count, nothing sent. */
  drop(reason: string, peer: Pick<Peer, "transport" | "address">, fields: Record<string, unknown> = {}): Dropped {
    this.#metrics.dropped(reason, peer.transport);
    this.#log.log("warn", "packet_dropped", { reason, transport: peer.transport, nas: peer.address, ...fields });
    return { dropped: reason };
  }
}

function stringAttribute(req: RadiusRequest, name: string): string | undefined {
  const v = req.attributes[name];
  return typeof v === "string" ? v : undefined;
}
