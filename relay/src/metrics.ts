import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { TOUCH_BATCH_MAX_LOGINS, type RelayCallName } from "../../core/contracts/relay-api.ts";
import type { EdgeCallOutcome } from "./edge-client.ts";

/**
 * The relay's Prometheus metrics, in a registry of its own (not prom-client's global one), so
 * two relays in one process (tests) do not share counters. Labels take only bounded values:
 * client names from the config, transports, methods, reply codes and reasons the code
 * defines; never usernames, numbers or addresses.
 */
export type Transport = "udp" | "radsec";
/** The reply a request got: a RADIUS code name, or "none" (nothing sent). */
export type RequestResult = "Access-Accept" | "Access-Reject" | "Access-Challenge" | "Accounting-Response" | "none";

const PREFIX = "edge_mfa_relay_";
const LATENCY_STEPS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300];

/** Logins per Touch call: powers of two up to TOUCH_BATCH_MAX_LOGINS. */
const TOUCH_LOGINS_BUCKETS = Array.from({ length: Math.ceil(Math.log2(TOUCH_BATCH_MAX_LOGINS)) + 1 }, (_, k) => 2 ** k);

/** Latency buckets up to the Touch timeout (a Touch holds the request that long), plus its slack. */
export function latencyBuckets(touchTimeoutSeconds: number, slackSeconds = 15): number[] {
  const top = touchTimeoutSeconds + slackSeconds;
  return [...new Set([...LATENCY_STEPS.filter((b) => b < top), touchTimeoutSeconds, top])].sort((a, b) => a - b);
}

export class RelayMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<"client" | "transport" | "method" | "result">;
  readonly #latency: Histogram<"method" | "result">;
  readonly #inFlight: Gauge;
  readonly #retransmits: Counter<"kind">;
  readonly #dropped: Counter<"reason" | "transport">;
  readonly #edgeLatency: Histogram<"call">;
  readonly #edgeErrors: Counter<"call" | "kind">;
  readonly #touchLogins: Histogram;
  readonly #reloads: Counter<"result">;

  constructor(opts: { touchTimeoutSeconds: number; processMetrics?: boolean }) {
    const registers = [this.registry];
    const buckets = latencyBuckets(opts.touchTimeoutSeconds);
    this.#requests = new Counter({
      name: `${PREFIX}requests_total`,
      help: "RADIUS requests answered or refused after authentication, by client, transport, method and reply",
      labelNames: ["client", "transport", "method", "result"],
      registers,
    });
    this.#latency = new Histogram({
      name: `${PREFIX}request_duration_seconds`,
      help: "Time from an authenticated request to its reply, by method and reply",
      labelNames: ["method", "result"],
      buckets,
      registers,
    });
    this.#inFlight = new Gauge({ name: `${PREFIX}requests_in_flight`, help: "Requests being processed now", registers });
    this.#retransmits = new Counter({
      name: `${PREFIX}retransmits_absorbed_total`,
      help: "NAS retransmissions absorbed: in_flight (dropped while the first copy runs), cached (the cached reply resent)",
      labelNames: ["kind"],
      registers,
    });
    this.#dropped = new Counter({
      name: `${PREFIX}packets_dropped_total`,
      help: "Packets dropped without a reply, by reason",
      labelNames: ["reason", "transport"],
      registers,
    });
    this.#edgeLatency = new Histogram({
      name: `${PREFIX}edge_call_duration_seconds`,
      help: "Relay API calls to the edge, by call (a touch lasts as long as the user takes)",
      labelNames: ["call"],
      buckets,
      registers,
    });
    this.#edgeErrors = new Counter({
      name: `${PREFIX}edge_call_errors_total`,
      help: "Relay API calls that failed: unavailable (transport, timeout, edge_unavailable) or refused (any other non-answer)",
      labelNames: ["call", "kind"],
      registers,
    });
    this.#touchLogins = new Histogram({
      name: `${PREFIX}edge_touch_logins_per_call`,
      help: "Touch logins carried by each Touch call to the edge (1: alone; more: one batch of a round's logins)",
      buckets: TOUCH_LOGINS_BUCKETS,
      registers,
    });
    this.#reloads = new Counter({
      name: `${PREFIX}config_reloads_total`,
      help: "SIGHUP reloads: applied or refused",
      labelNames: ["result"],
      registers,
    });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** Starts timing one authenticated request; the returned function records its end. */
  begin(): (r: { client: string; transport: Transport; method: string; result: RequestResult }) => void {
    const started = process.hrtime.bigint();
    this.#inFlight.inc();
    return ({ client, transport, method, result }) => {
      this.#inFlight.dec();
      this.#requests.inc({ client, transport, method, result });
      this.#latency.observe({ method, result }, Number(process.hrtime.bigint() - started) / 1e9);
    };
  }

  retransmit(kind: "in_flight" | "cached"): void {
    this.#retransmits.inc({ kind });
  }

  dropped(reason: string, transport: Transport): void {
    this.#dropped.inc({ reason, transport });
  }

  edgeCall(call: RelayCallName, seconds: number, outcome: EdgeCallOutcome): void {
    this.#edgeLatency.observe({ call }, seconds);
    if (outcome !== "ok") this.#edgeErrors.inc({ call, kind: outcome });
  }

  touchLoginsPerCall(logins: number): void {
    this.#touchLogins.observe(logins);
  }

  reload(result: "applied" | "refused"): void {
    this.#reloads.inc({ result });
  }

  /** A gauge read at scrape time (cache sizes): nothing to keep up to date on the hot path. */
  sizeGauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name: `${PREFIX}${name}`,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
