import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from "prom-client";
import type { Logger } from "./log.ts";
import type { RelayMetrics } from "./metrics.ts";

/**
 * Several relay processes on one UDP port (`processes` > 1). The primary forks the workers
 * (node:cluster), each binding the auth port with SO_REUSEPORT (server.ts): the kernel picks
 * the worker by the sender's address and port, so a NAS's retransmission reaches the worker
 * whose retransmit cache holds it. A worker that dies is forked again with its number. The
 * primary answers /metrics with its own and every worker's counters summed.
 */

/** Set in a worker's environment: its number, 1..processes (in log lines as "worker"). */
export const WORKER_ENV = "EDGE_MFA_RELAY_WORKER";

type Message = { type: "ready" } | { type: "metrics"; id: number } | { type: "metrics"; id: number; json: MetricsJson };
type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** This process's worker number, or undefined in the primary (or a single process). */
export function workerNumber(): number | undefined {
  const n = cluster.isWorker ? Number(process.env[WORKER_ENV]) : Number.NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** A worker that dies this soon after its start waits before it is forked again (no crash loop at full speed). */
const QUICK_DEATH_MS = 5_000;
const RESTART_DELAY_MS = 1_000;
/** How long stop() waits for a worker to drain before killing it (the server's grace is 10 s). */
const STOP_KILL_MS = 15_000;

export class WorkerPool {
  readonly #count: number;
  readonly #log: Logger;
  readonly #workers = new Map<number, { worker: Worker; started: number; ready: boolean }>();
  #stopping = false;
  #nextId = 1;
  readonly #pendingMetrics = new Map<number, (json: MetricsJson) => void>();

  constructor(count: number, log: Logger) {
    this.#count = count;
    this.#log = log;
  }

  /** Forks every worker; resolves once each has bound the port. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.#count }, (_, i) => this.#fork(i + 1, true)));
  }

  /** Workers bound and running now (for /healthz). */
  get ready(): number {
    let n = 0;
    for (const w of this.#workers.values()) if (w.ready) n++;
    return n;
  }

  /** SIGHUP: each worker reloads the file itself (clients and per-request settings). */
  reload(): void {
    for (const { worker } of this.#workers.values()) worker.process.kill("SIGHUP");
  }

  /** SIGTERM to every worker (each drains its in-flight requests), then waits for their exits. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      [...this.#workers.values()].map(({ worker }) => {
        if (worker.isDead()) return undefined;
        const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
        const kill = setTimeout(() => worker.process.kill("SIGKILL"), STOP_KILL_MS);
        worker.process.kill("SIGTERM");
        return exited.finally(() => clearTimeout(kill));
      }),
    );
  }

  /** Every live worker's metrics (prom-client JSON); a worker that does not answer within 2 s is left out. */
  async workerMetrics(): Promise<MetricsJson[]> {
    const asks = [...this.#workers.values()]
      .filter((w) => w.ready && w.worker.isConnected())
      .map(({ worker }) => {
        const id = this.#nextId++;
        return new Promise<MetricsJson | undefined>((resolve) => {
          const timer = setTimeout(() => {
            this.#pendingMetrics.delete(id);
            resolve(undefined);
          }, 2_000);
          this.#pendingMetrics.set(id, (json) => {
            clearTimeout(timer);
            this.#pendingMetrics.delete(id);
            resolve(json);
          });
          worker.send({ type: "metrics", id } satisfies Message);
        });
      });
    return (await Promise.all(asks)).filter((j): j is MetricsJson => j !== undefined);
  }

  /** `initial`: a worker of the start that exits before it serves fails the start (a bad port, a bad key). */
  #fork(n: number, initial: boolean): Promise<void> {
    const worker = cluster.fork({ [WORKER_ENV]: String(n) });
    const entry = { worker, started: Date.now(), ready: false };
    this.#workers.set(n, entry);
    return new Promise<void>((resolve, reject) => {
      worker.on("message", (m: Message) => {
        if (m.type === "ready") {
          entry.ready = true;
          resolve();
        } else if (m.type === "metrics" && "json" in m) this.#pendingMetrics.get(m.id)?.(m.json);
      });
      worker.once("exit", (code, signal) => {
        const wasReady = entry.ready;
        entry.ready = false;
        if (this.#stopping) return resolve();
        if (initial && !wasReady) return reject(new Error(`relay worker ${n} exited before it listened (code ${code}, signal ${signal})`));
        const lived = Date.now() - entry.started;
        this.#log.log("error", "worker_exited", {
          worker: n,
          pid: worker.process.pid,
          code,
          signal,
          restartInMs: lived < QUICK_DEATH_MS ? RESTART_DELAY_MS : 0,
        });
        setTimeout(
          () => {
            if (!this.#stopping) void this.#fork(n, false).then(() => this.#log.log("info", "worker_restarted", { worker: n }));
          },
          lived < QUICK_DEATH_MS ? RESTART_DELAY_MS : 0,
        );
        resolve();
      });
    });
  }
}

/** In a worker: tells the primary it serves, and answers its metrics requests. */
export function serveAsWorker(metrics: RelayMetrics): void {
  process.on("message", (m: Message) => {
    if (m.type !== "metrics" || "json" in m) return;
    void metrics.registry.getMetricsAsJSON().then((json) => process.send?.({ type: "metrics", id: m.id, json } satisfies Message));
  });
  process.send?.({ type: "ready" } satisfies Message);
}

/** The primary's /metrics: its own counters (accounting, RadSec) and every worker's, summed. */
export function clusterMetrics(own: RelayMetrics, pool: WorkerPool): Pick<RelayMetrics, "text" | "contentType"> {
  return {
    contentType: own.contentType,
    async text() {
      const all = [await own.registry.getMetricsAsJSON(), ...(await pool.workerMetrics())];
      return AggregatorRegistry.aggregate(all).metrics();
    },
  };
}
