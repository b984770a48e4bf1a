import { readFileSync } from "node:fs";
import { isIP, type Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { RelayConfigError } from "../config.ts";
import type { Logger } from "../log.ts";
import type { RequestClient, RequestHandler } from "../request-handler.ts";
import { addressMayConnect, matchRadsecClient, type PeerCertificate } from "./client-match.ts";
import { RADSEC_SECRET, type RadsecClientConfig, type RadsecConfig } from "./config.ts";
import { RadsecConnection } from "./connection.ts";

/**
 * The RadSec listener (RFC 6614): TLS 1.2+ on TCP (2083 by default) with mutual certificate
 * authentication. A connection becomes a client only if its certificate chains to `caFile`
 * and a `clients` entry names it (certName, pin, source address); then its packets go to the
 * same RequestHandler as UDP, signed with the secret "radsec". Every refused connection is one
 * warn line `connection_refused` with its reason.
 */
export class RadsecListener {
  readonly #config: RadsecConfig;
  readonly #handler: RequestHandler;
  readonly #log: Logger;
  #server: Server | undefined;
  /** Raw sockets, handshakes included, so a stop can end them all. */
  readonly #sockets = new Set<Socket>();
  readonly #connections = new Set<RadsecConnection>();
  /** Raw sockets already refused (and logged): their TLS side's errors are not logged again. */
  readonly #refusedEarly = new WeakSet<Socket>();
  #stopping = false;

  constructor(config: RadsecConfig, parts: { handler: RequestHandler; log: Logger }) {
    this.#config = config;
    this.#handler = parts.handler;
    this.#log = parts.log;
  }

  async start(): Promise<{ address: string; port: number }> {
    const c = this.#config;
    const options = {
      cert: readPem(c.certFile, "radsec.certFile"),
      key: readPem(c.keyFile, "radsec.keyFile"),
      ca: readPem(c.caFile, "radsec.caFile"),
      minVersion: "TLSv1.2" as const,
      requestCert: true,
      // The chain is checked by #identify before anything is read: node's own
      // rejectUnauthorized would drop a refused certificate without a word, and operators
      // need the line that says why.
      rejectUnauthorized: false,
      handshakeTimeout: c.handshakeTimeoutSeconds * 1000,
    };
    let server: Server;
    try {
      server = createServer(options, (socket) => this.#onSecure(socket));
    } catch (e) {
      throw new RelayConfigError(`radsec: certFile, keyFile or caFile is not usable PEM: ${(e as Error).message}`);
    }
    this.#server = server;
    server.maxConnections = c.maxConnections;
    server.on("drop", (d) => this.#refuse("too_many_connections", { nas: d?.remoteAddress, port: d?.remotePort }));
    server.on("connection", (raw: Socket) => this.#onConnection(raw));
    server.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
      const raw = rawSocketOf(socket);
      // A socket refused at accept was logged already; its TLS side only reports the reset.
      if (this.#stopping || (raw && this.#refusedEarly.has(raw))) {
        socket.destroy();
        return;
      }
      const reason = err.code === "ERR_TLS_HANDSHAKE_TIMEOUT" ? "handshake_timeout" : "handshake_failed";
      this.#refuse(reason, { nas: raw?.remoteAddress ?? socket.remoteAddress, port: raw?.remotePort, error: err.message });
      socket.destroy(); // node leaves it open once a tlsClientError listener exists
    });
    server.on("error", (err) => this.#log.log("error", "socket_error", { transport: "radsec", error: err.message }));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(c.listen.port, c.listen.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error("radsec: listener has no TCP address");
    this.#log.log("info", "listening", { transport: "radsec", address: addr.address, port: addr.port, clients: c.clients.length });
    return { address: addr.address, port: addr.port };
  }

  /** Stops accepting, lets in-flight requests answer (up to graceMs), then closes every connection. */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const closed = new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    await Promise.all([...this.#connections].map((c) => c.drain(graceMs)));
    // Drained connections end politely (their last replies flush); what lingers is cut.
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000).unref())]);
    for (const raw of this.#sockets) raw.destroy();
    await closed;
  }

  /** Before the handshake: refuse addresses no client may connect from, cheaply. */
  #onConnection(raw: Socket): void {
    this.#sockets.add(raw);
    raw.once("close", () => this.#sockets.delete(raw));
    raw.on("error", () => undefined); // reported through tlsClientError or the connection
    if (this.#stopping || !addressMayConnect(this.#config.clients, raw.remoteAddress ?? "")) {
      this.#refusedEarly.add(raw);
      if (!this.#stopping) this.#refuse("address_not_allowed", { nas: raw.remoteAddress, port: raw.remotePort });
      raw.destroy();
    }
  }

  #onSecure(socket: TLSSocket): void {
    const nas = socket.remoteAddress ?? "";
    const port = socket.remotePort ?? 0;
    const who = this.#identify(socket, nas);
    if (who.kind === "refused") {
      const raw = rawSocketOf(socket);
      if (raw) this.#refusedEarly.add(raw);
      this.#refuse(who.reason, { nas, port, ...who.fields });
      socket.destroy();
      return;
    }
    const connection = new RadsecConnection(socket, {
      peer: { transport: "radsec", address: nas, port },
      client: requestClient(who.client),
      handler: this.#handler,
      log: this.#log,
      limits: { idleMs: this.#config.idleTimeoutSeconds * 1000, maxInFlight: this.#config.maxPacketsInFlightPerConnection },
    });
    this.#connections.add(connection);
    socket.once("close", () => this.#connections.delete(connection));
    const tls = socket.getProtocol();
    this.#log.log("info", "connection_accepted", { transport: "radsec", client: who.client.name, nas, port, subject: who.subject, tls });
  }

  /** Who a finished handshake is: a client entry, or why not. */
  #identify(
    socket: TLSSocket,
    nas: string,
  ):
    | { kind: "client"; client: RadsecClientConfig; subject: string }
    | { kind: "refused"; reason: string; fields: Record<string, unknown> } {
    if (this.#stopping) return { kind: "refused", reason: "shutting_down", fields: {} };
    // requestCert asked for a certificate; it must chain to caFile (socket.authorized).
    const x509 = socket.getPeerX509Certificate();
    if (!x509) return { kind: "refused", reason: "certificate_refused", fields: { error: "no client certificate" } };
    const subject = x509.subject.replace(/\n/g, ", ");
    if (!socket.authorized) {
      return { kind: "refused", reason: "certificate_refused", fields: { error: String(socket.authorizationError), subject } };
    }
    const fingerprint256 = x509.fingerprint256.replace(/:/g, "").toLowerCase();
    const cert: PeerCertificate = {
      fingerprint256,
      isFor: (name) => (isIP(name) ? x509.checkIP(name) !== undefined : x509.checkHost(name, { wildcards: false }) !== undefined),
    };
    const match = matchRadsecClient(this.#config.clients, cert, nas);
    if (match.kind === "client") return { kind: "client", client: match.client, subject };
    // Logged as openssl prints it (AB:CD:…): what an operator pastes into certFingerprintSha256,
    // and colons keep the log redaction from taking it for a token (it is not a secret).
    const fields = { subject, fingerprint: x509.fingerprint256, ...(match.client ? { client: match.client } : {}) };
    return { kind: "refused", reason: match.reason, fields };
  }

  #refuse(reason: string, fields: Record<string, unknown>): void {
    this.#log.log("warn", "connection_refused", { transport: "radsec", reason, ...fields });
  }
}

function requestClient(c: RadsecClientConfig): RequestClient {
  const client: RequestClient = { name: c.name, secret: RADSEC_SECRET, requireMessageAuthenticator: c.requireMessageAuthenticator };
  if (c.secondFactor) client.secondFactor = c.secondFactor;
  if (c.totpSource) client.totpSource = c.totpSource;
  return client;
}

function readPem(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new RelayConfigError(`${field}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** The TCP socket under a server-side TLSSocket (node keeps it as `_parent`). */
function rawSocketOf(socket: TLSSocket): Socket | undefined {
  return (socket as unknown as { _parent?: Socket })._parent;
}
