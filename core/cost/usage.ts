/**
 * What a run of authentications used on Cloudflare's billing meters, and what that costs.
 * Pure: the counting hooks (workers/lib/metering.ts) fill a Usage, the bench (bench/cost.ts)
 * divides it per authentication and prices it with a PriceList (prices.ts).
 */
import type { PriceList } from "./prices.ts";

/** One Durable Object class's meters. */
export interface ObjectUsage {
  /** RPC calls and fetches made on its stubs (each one billed request). */
  requests: number;
  /** Alarm invocations (each one billed request). */
  alarms: number;
  /** Incoming WebSocket messages (billed 20:1); outgoing ones are free. */
  webSocketMessagesIn: number;
  /** SQLite storage rows: KV get/list rows, SQL cursor rowsRead. */
  rowsRead: number;
  /** KV put/delete rows, setAlarm/deleteAlarm (one row each), SQL cursor rowsWritten. */
  rowsWritten: number;
  /** Wall time with at least one request in flight, summed over its objects (billed duration). */
  activeMs: number;
}

export interface Usage {
  /** Requests into the Worker from outside (the API call, the link page GET, the answer POST...). */
  workerRequests: number;
  /** console lines written by the Worker and its objects (Workers Logs' custom logs). */
  logLines: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  /** By class name (AuthSession, Subscriber, LoadShard...). */
  objects: Record<string, ObjectUsage>;
}

export const emptyObjectUsage = (): ObjectUsage => ({
  requests: 0,
  alarms: 0,
  webSocketMessagesIn: 0,
  rowsRead: 0,
  rowsWritten: 0,
  activeMs: 0,
});

export const emptyUsage = (): Usage => ({ workerRequests: 0, logLines: 0, d1RowsRead: 0, d1RowsWritten: 0, objects: {} });

/** The class's meters in `usage`, created on first use. */
export function objectMeters(usage: Usage, className: string): ObjectUsage {
  let meters = usage.objects[className];
  if (!meters) {
    meters = emptyObjectUsage();
    usage.objects[className] = meters;
  }
  return meters;
}

function scaleObject(o: ObjectUsage, f: number): ObjectUsage {
  return {
    requests: o.requests * f,
    alarms: o.alarms * f,
    webSocketMessagesIn: o.webSocketMessagesIn * f,
    rowsRead: o.rowsRead * f,
    rowsWritten: o.rowsWritten * f,
    activeMs: o.activeMs * f,
  };
}

/** `usage` divided by the number of authentications that produced it. */
export function perAuthentication(usage: Usage, authentications: number): Usage {
  if (!(authentications > 0)) throw new Error(`authentications must be positive (got ${authentications})`);
  const f = 1 / authentications;
  return {
    workerRequests: usage.workerRequests * f,
    logLines: usage.logLines * f,
    d1RowsRead: usage.d1RowsRead * f,
    d1RowsWritten: usage.d1RowsWritten * f,
    objects: Object.fromEntries(Object.entries(usage.objects).map(([name, o]) => [name, scaleObject(o, f)])),
  };
}

/** All classes together. */
export function objectTotals(usage: Usage): ObjectUsage {
  const total = emptyObjectUsage();
  for (const o of Object.values(usage.objects)) {
    total.requests += o.requests;
    total.alarms += o.alarms;
    total.webSocketMessagesIn += o.webSocketMessagesIn;
    total.rowsRead += o.rowsRead;
    total.rowsWritten += o.rowsWritten;
    total.activeMs += o.activeMs;
  }
  return total;
}

/** Billed Durable Object requests: calls, alarms, and incoming WebSocket messages at 20:1. */
export function billedObjectRequests(o: ObjectUsage, prices: Pick<PriceList, "webSocketMessagesPerRequest">): number {
  return o.requests + o.alarms + o.webSocketMessagesIn / prices.webSocketMessagesPerRequest;
}

/** What the deploy config (wrangler.toml `[observability]`) has Workers Logs write. */
export interface LogSettings {
  /** Workers Logs on at all. */
  enabled: boolean;
  /** The platform's invocation logs: one per invocation of the Worker and of its objects. */
  invocationLogs: boolean;
  /** Share of requests logged (head sampling), 0 to 1. */
  sampling: number;
}

/** The part of wrangler's resolved config that says what Workers Logs writes. */
export interface ObservabilityConfig {
  enabled?: boolean;
  head_sampling_rate?: number;
  logs?: { enabled?: boolean; head_sampling_rate?: number; invocation_logs?: boolean };
}

/** LogSettings from wrangler's resolved `observability` (its defaults: off; when on, invocation logs on, every request). */
export function logSettingsOf(observability: ObservabilityConfig | undefined): LogSettings {
  const enabled = observability?.logs?.enabled ?? observability?.enabled ?? false;
  return {
    enabled,
    invocationLogs: observability?.logs?.invocation_logs ?? true,
    sampling: observability?.logs?.head_sampling_rate ?? observability?.head_sampling_rate ?? 1,
  };
}

/**
 * Log events written to Workers Logs: with invocation logs on, one per invocation of the
 * Worker (each request from outside) and of its Durable Objects (each call, alarm and incoming
 * WebSocket message: the objects' requests are logged too); and one per console line; times
 * the share of requests sampled.
 */
export function logEvents(usage: Usage, logs: LogSettings): number {
  if (!logs.enabled) return 0;
  const o = objectTotals(usage);
  const invocations = logs.invocationLogs ? usage.workerRequests + o.requests + o.alarms + o.webSocketMessagesIn : 0;
  return (invocations + usage.logLines) * logs.sampling;
}

/**
 * The usage of an authentication whose user answers after `waitMs`, from two measured runs
 * with the same choreography: one answered at once (`instant`, waiting ~0) and one answered
 * after `heldWaitMs`. Only active time depends on the wait; it is taken as linear in it,
 * per class (an object held busy by the waiting call grows by the wait, one that is not
 * stays flat). Counts come from `held`.
 */
export function atWait(instant: Usage, held: Usage, heldWaitMs: number, waitMs: number): Usage {
  if (!(heldWaitMs > 0)) throw new Error(`heldWaitMs must be positive (got ${heldWaitMs})`);
  const objects: Record<string, ObjectUsage> = {};
  for (const [name, h] of Object.entries(held.objects)) {
    const base = instant.objects[name]?.activeMs ?? 0;
    const slope = Math.max(0, (h.activeMs - base) / heldWaitMs);
    objects[name] = { ...h, activeMs: base + slope * waitMs };
  }
  return { ...held, objects };
}

export interface Assumptions {
  /** Worker CPU per Worker request, ms (not measurable locally: workerd's clocks stop while code runs). */
  cpuMsPerWorkerRequest: number;
  /** What Workers Logs writes, from the deploy config. */
  logs: LogSettings;
}

export interface CostBreakdown {
  workerRequests: number;
  workerCpu: number;
  logEvents: number;
  objectRequests: number;
  objectDuration: number;
  objectRowsRead: number;
  objectRowsWritten: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  total: number;
}

/** USD per million authentications that each use `perAuth`. */
export function costPerMillion(perAuth: Usage, prices: PriceList, assumptions: Assumptions): CostBreakdown {
  const objects = objectTotals(perAuth);
  // Per authentication x 1e6 authentications / 1e6 units per price = per authentication x price.
  const gbSeconds = (objects.activeMs / 1000) * prices.objectMemoryGb;
  const parts = {
    workerRequests: perAuth.workerRequests * prices.workerRequestsPerMillion,
    workerCpu: perAuth.workerRequests * assumptions.cpuMsPerWorkerRequest * prices.workerCpuMsPerMillion,
    logEvents: logEvents(perAuth, assumptions.logs) * prices.logEventsPerMillion,
    objectRequests: billedObjectRequests(objects, prices) * prices.objectRequestsPerMillion,
    objectDuration: gbSeconds * prices.objectGbSecondsPerMillion,
    objectRowsRead: objects.rowsRead * prices.objectRowsReadPerMillion,
    objectRowsWritten: objects.rowsWritten * prices.objectRowsWrittenPerMillion,
    d1RowsRead: perAuth.d1RowsRead * prices.d1RowsReadPerMillion,
    d1RowsWritten: perAuth.d1RowsWritten * prices.d1RowsWrittenPerMillion,
  };
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  return { ...parts, total };
}

/**
 * Wall time during which at least one request is in flight: overlapping requests on one
 * object are billed once ("duration ... is shared across all requests active on an Object
 * at once"). `now` is injected so that the rule is testable.
 */
export class ActiveClock {
  #inflight = 0;
  #since = 0;
  #totalMs = 0;
  readonly #now: () => number;
  constructor(now: () => number) {
    this.#now = now;
  }

  enter(): void {
    if (this.#inflight++ === 0) this.#since = this.#now();
  }

  leave(): void {
    if (this.#inflight === 0) throw new Error("ActiveClock.leave without enter");
    if (--this.#inflight === 0) this.#totalMs += this.#now() - this.#since;
  }

  /** Active time so far, including a request still in flight. */
  activeMs(): number {
    return this.#totalMs + (this.#inflight > 0 ? this.#now() - this.#since : 0);
  }
}
