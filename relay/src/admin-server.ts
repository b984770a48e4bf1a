import { createServer, type Server } from "node:http";
import type { AdminConfig } from "./config.ts";
import type { EdgeHealth } from "./edge-health.ts";
import type { Logger } from "./log.ts";
import type { RelayMetrics } from "./metrics.ts";

/**
 * The admin HTTP port (loopback unless configured otherwise): GET /metrics for Prometheus,
 * GET /healthz for load balancers and systemd: 200 when the relay listens and the edge
 * answers, else 503 with the reason. Nothing else; no request changes anything.
 */
export class AdminServer {
  readonly #config: AdminConfig;
  readonly #metrics: Pick<RelayMetrics, "text" | "contentType">;
  readonly #health: EdgeHealth;
  readonly #listening: () => boolean;
  readonly #log: Logger;
  #server: Server | undefined;

  constructor(
    config: AdminConfig,
    parts: { metrics: Pick<RelayMetrics, "text" | "contentType">; health: EdgeHealth; listening: () => boolean; log: Logger },
  ) {
    this.#config = config;
    this.#metrics = parts.metrics;
    this.#health = parts.health;
    this.#listening = parts.listening;
    this.#log = parts.log;
  }

  async start(): Promise<{ address: string; port: number }> {
    const server = createServer((req, res) => {
      const path = (req.url ?? "").split("?")[0];
      const reply = (status: number, type: string, body: string) => {
        res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : body);
      };
      if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "text/plain", "method not allowed\n");
      if (path === "/metrics") {
        this.#metrics.text().then(
          (text) => reply(200, this.#metrics.contentType, text),
          (e: unknown) => reply(500, "text/plain", `metrics failed: ${String(e)}\n`),
        );
        return;
      }
      if (path === "/healthz") {
        void this.#healthz().then(({ status, body }) => reply(status, "application/json", `${JSON.stringify(body)}\n`));
        return;
      }
      reply(404, "text/plain", "not found\n");
    });
    // A slow or idle client cannot hold the port: short limits for a loopback scraper.
    server.headersTimeout = 5000;
    server.requestTimeout = 10_000;
    server.keepAliveTimeout = 5000;
    server.maxConnections = 64;
    this.#server = server;
    const { host, port } = this.#config.listen;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => this.#log.log("error", "admin_error", { error: err.message }));
    const addr = server.address();
    const bound = typeof addr === "object" && addr ? { address: addr.address, port: addr.port } : { address: host, port };
    this.#log.log("info", "admin_listening", bound);
    return bound;
  }

  async #healthz(): Promise<{ status: number; body: Record<string, unknown> }> {
    if (!this.#listening()) return { status: 503, body: { status: "unavailable", reason: "not_listening" } };
    const edge = await this.#health.check();
    if (!edge.ok) return { status: 503, body: { status: "unavailable", reason: "edge_unreachable", detail: edge.reason } };
    return { status: 200, body: { status: "ok" } };
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
