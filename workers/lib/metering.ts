/**
 * Cost metering (issue 16): counts what each request uses on Cloudflare's billing meters, from
 * the real code path, for bench/cost.ts. Off unless the Worker's `COST_METERING` var is "on"
 * (the bench sets it; wrangler.toml does not): then every hook below is a pass-through, with
 * one property read per request, stub or object.
 *
 * When on:
 * - meteredFetch counts Worker requests, and serves the meters at /__cost/usage (GET) and
 *   /__cost/reset (POST), to loopback hosts only;
 * - objectStub (durable-objects.ts) counts every call on a stub as one Durable Object request
 *   (each RPC call is its own billed session; fetch() too);
 * - metered() wraps a Durable Object class: its ctx.storage (patched in place) counts SQLite rows as billed (KV
 *   get/list: rows read; put/delete/setAlarm/deleteAlarm: rows written; SQL cursors: their
 *   rowsRead/rowsWritten), alarms and incoming WebSocket messages are counted, and each
 *   object's active time (wall time with a request in flight) is clocked;
 * - env.DB counts D1 rows from each result's meta;
 * - console's log, info, debug, warn and error count one line per call (Workers Logs bills
 *   each line as an event): patched once, when the first metered request or object arrives.
 * The meters are module state: under workerd one isolate runs the Worker and its objects.
 */
import { DurableObject } from "cloudflare:workers";
import { ActiveClock, type Usage, emptyUsage, objectMeters } from "../../core/cost/usage";
import { isLoopbackHost } from "../../core/loopback";

/** A Durable Object binding's name (durable-objects.ts ObjectBinding; a string here, which imports this). */
type ObjectBinding = string;

export const COST_METERING_VAR = "COST_METERING";

export function meteringOn(env: object): boolean {
  return Reflect.get(env, COST_METERING_VAR) === "on";
}

interface ObjectRecord {
  binding: ObjectBinding;
  clock: ActiveClock;
}

let usage: Usage = emptyUsage();
/** Every metered object instance since the last reset, with its clock. */
let instances: ObjectRecord[] = [];
/** SQL cursors: their row counts grow as they are read, so they are summed when asked. */
let cursors: Array<{ binding: ObjectBinding; cursor: { rowsRead: number; rowsWritten: number } }> = [];

/** The meters now: counts, plus active time and SQL rows summed per class. */
export function usageSnapshot(): Usage {
  const snapshot: Usage = structuredClone(usage);
  for (const r of instances) objectMeters(snapshot, r.binding).activeMs += r.clock.activeMs();
  for (const c of cursors) {
    const m = objectMeters(snapshot, c.binding);
    m.rowsRead += c.cursor.rowsRead;
    m.rowsWritten += c.cursor.rowsWritten;
  }
  return snapshot;
}

export function resetUsage(): void {
  usage = emptyUsage();
  instances = [];
  cursors = [];
}

/** console's methods whose every call is one line in Workers Logs. */
const CONSOLE_LINES = ["log", "info", "debug", "warn", "error"] as const;
let consoleCounted = false;

/** From now on, every console line in this isolate (the Worker's and its objects') is counted. */
export function countConsoleLines(): void {
  if (consoleCounted) return;
  consoleCounted = true;
  for (const name of CONSOLE_LINES) {
    const original = console[name].bind(console);
    console[name] = (...args: unknown[]) => {
      usage.logLines++;
      original(...args);
    };
  }
}

type FetchHandler = (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>;

/** The Worker's fetch handler, metered when COST_METERING is on. */
export function meteredFetch(handler: FetchHandler): FetchHandler {
  return (request, env, ctx) => {
    if (!meteringOn(env)) return handler(request, env, ctx);
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__cost/")) return costEndpoint(request, url);
    countConsoleLines();
    usage.workerRequests++;
    return handler(request, meteredEnv(env), ctx);
  };
}

function costEndpoint(request: Request, url: URL): Response {
  // The meters say how much traffic there is: never off the machine the bench runs on.
  if (!isLoopbackHost(url.hostname)) return new Response("not found", { status: 404 });
  if (url.pathname === "/__cost/usage" && request.method === "GET") return Response.json(usageSnapshot());
  if (url.pathname === "/__cost/reset" && request.method === "POST") {
    resetUsage();
    return new Response(null, { status: 204 });
  }
  return new Response("not found", { status: 404 });
}

/** A stub whose every call counts as one request to the binding's class. */
export function meteredStub<T extends object>(stub: T, binding: ObjectBinding): T {
  return new Proxy(stub, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      // `then` is looked up when something awaits the stub itself: not a call on the object.
      if (typeof value !== "function" || typeof prop === "symbol" || prop === "then") return value;
      return (...args: unknown[]) => {
        objectMeters(usage, binding).requests++;
        return Reflect.apply(value, target, args);
      };
    },
  });
}

const envs = new WeakMap<Env, Env>();

/** env with D1 metered (the same object for the same env). */
export function meteredEnv(env: Env): Env {
  let metered = envs.get(env);
  if (!metered) {
    metered = { ...env, DB: meteredD1(env.DB) };
    envs.set(env, metered);
    envs.set(metered, metered);
  }
  return metered;
}

function countD1(meta: { rows_read?: number; rows_written?: number } | undefined): void {
  usage.d1RowsRead += meta?.rows_read ?? 0;
  usage.d1RowsWritten += meta?.rows_written ?? 0;
}

/** The real statement behind a metered one (batch() takes only real ones). */
const realStatements = new WeakMap<object, D1PreparedStatement>();

function meteredStatement(statement: D1PreparedStatement): D1PreparedStatement {
  const metered: D1PreparedStatement = Object.create(statement, {
    bind: { value: (...values: unknown[]) => meteredStatement(statement.bind(...values)) },
    run: {
      value: async () => {
        const result = await statement.run();
        countD1(result.meta);
        return result;
      },
    },
    all: {
      value: async () => {
        const result = await statement.all();
        countD1(result.meta);
        return result;
      },
    },
    // first() and raw() return no meta: run as all() to count, shaped as they would return.
    first: {
      value: async (column?: string) => {
        const result = await statement.all<Record<string, unknown>>();
        countD1(result.meta);
        const row = result.results[0];
        if (row === undefined) return null;
        return column === undefined ? row : (row[column] ?? null);
      },
    },
    raw: {
      value: async (options?: { columnNames?: boolean }) => {
        const result = await statement.all<Record<string, unknown>>();
        countD1(result.meta);
        const rows = result.results.map((row) => Object.values(row));
        const names = Object.keys(result.results[0] ?? {});
        return options?.columnNames ? [names, ...rows] : rows;
      },
    },
  });
  realStatements.set(metered, statement);
  return metered;
}

function meteredD1(db: D1Database): D1Database {
  return Object.create(db, {
    prepare: { value: (sql: string) => meteredStatement(db.prepare(sql)) },
    batch: {
      value: async (statements: D1PreparedStatement[]) => {
        const results = await db.batch(statements.map((s) => realStatements.get(s) ?? s));
        for (const r of results) countD1(r.meta);
        return results;
      },
    },
    exec: {
      value: async (sql: string) => {
        const result = await db.exec(sql);
        // exec() reports no rows; nothing on the authentication path uses it.
        return result;
      },
    },
  });
}

const keyCount = (key: unknown): number =>
  Array.isArray(key) ? key.length : typeof key === "object" && key !== null ? Object.keys(key).length : 1;

type Method = (...args: never[]) => unknown;

/**
 * Replaces `target`'s methods named in `wrappers` by own properties that count and then call
 * the original (bound: runtime objects refuse another `this`). In place: the runtime checks
 * that an object's ctx is its own DurableObjectState, so a proxy in its stead is refused.
 */
function patch<T extends object>(target: T, wrappers: { [name: string]: (original: (...args: unknown[]) => unknown) => Method }): void {
  for (const [name, wrap] of Object.entries(wrappers)) {
    const original = Reflect.get(target, name) as unknown;
    if (typeof original !== "function") continue;
    Object.defineProperty(target, name, { value: wrap(original.bind(target)), configurable: true, writable: true });
  }
}

const patched = new WeakSet<object>();

/**
 * Miniflare's own statements: on `wrangler dev` it records each object's name in its
 * `__miniflare_do_name` table through the same `ctx.storage.sql`, when the object starts (~3
 * rows written per new object). Cloudflare runs nothing of the kind, so it bills none of it.
 */
const isLocalBookkeeping = (query: unknown): boolean => typeof query === "string" && query.includes("__miniflare_");

/** Makes `storage` count billed rows to `binding`'s class (Cloudflare's SQLite storage rules). */
export function instrumentStorage(storage: DurableObjectStorage, binding: ObjectBinding): void {
  if (patched.has(storage)) return;
  patched.add(storage);
  const m = () => objectMeters(usage, binding);
  const counting =
    (meter: "rowsRead" | "rowsWritten") =>
    (count: (args: unknown[]) => number) =>
    (original: (...args: unknown[]) => unknown) =>
    (...args: unknown[]) => {
      m()[meter] += count(args);
      return original(...args);
    };
  const reads = counting("rowsRead");
  const writes = counting("rowsWritten");
  const one = () => 1;
  const keys = (args: unknown[]) => keyCount(args[0]);
  // Uncounted: what deleteAll() looks up to count its rows is not the code's own reading.
  const originalList = storage.list;
  const listAll = (): Promise<Map<string, unknown>> => Reflect.apply(originalList, storage, []);
  patch(storage, {
    get: reads(keys),
    put: writes(keys),
    delete: writes(keys),
    setAlarm: writes(one),
    deleteAlarm: writes(one),
    list: (original) => async (options?: DurableObjectListOptions) => {
      const entries = (await original(options)) as Map<string, unknown>;
      m().rowsRead += Math.max(1, entries.size);
      return entries;
    },
    deleteAll: (original) => async (options?: DurableObjectPutOptions) => {
      // Every stored row is a row written, and (compatibility date >= 2026-02-24) the alarm.
      const rows = (await listAll()).size + ((await storage.getAlarm()) !== null ? 1 : 0);
      m().rowsWritten += rows;
      return original(options);
    },
    transaction: (original) => (closure: (txn: DurableObjectTransaction) => Promise<unknown>) =>
      original((txn: DurableObjectTransaction) => {
        instrumentStorage(txn as unknown as DurableObjectStorage, binding);
        return closure(txn);
      }),
  });
  // Synchronous KV and SQL (SQLite-backed classes only).
  const kv: unknown = Reflect.get(storage, "kv");
  if (typeof kv === "object" && kv !== null && !patched.has(kv)) {
    patched.add(kv);
    patch(kv, {
      get: reads(one),
      put: writes(one),
      delete: writes(one),
      list: (original) => (options?: SyncKvListOptions) => {
        const entries = [...(original(options) as Iterable<unknown>)];
        m().rowsRead += Math.max(1, entries.length);
        return entries[Symbol.iterator]();
      },
    });
  }
  const sql: unknown = Reflect.get(storage, "sql");
  if (typeof sql === "object" && sql !== null && !patched.has(sql)) {
    patched.add(sql);
    patch(sql, {
      exec:
        (original) =>
        (...args: unknown[]) => {
          const cursor = original(...args) as { rowsRead: number; rowsWritten: number };
          if (!isLocalBookkeeping(args[0])) cursors.push({ binding, cursor });
          return cursor;
        },
    });
  }
}

/** Clocks of metered instances (absent: metering off for this instance). */
const clocks = new WeakMap<object, ActiveClock>();

type ObjectClass = abstract new (ctx: DurableObjectState, env: Env) => object;

/** Handlers the runtime calls on an object, and which meter each one also counts. */
const RUNTIME_HANDLERS: Record<string, "alarms" | "webSocketMessagesIn" | null> = {
  alarm: "alarms",
  webSocketMessage: "webSocketMessagesIn",
  webSocketClose: null,
  webSocketError: null,
};

/**
 * The Durable Object class `Base`, metered when its env has COST_METERING on: its ctx.storage
 * counts rows, and every method call (RPC, fetch, alarm, WebSocket handler) holds the
 * object's clock while it runs, so a call that blocks keeps the object active, as billed.
 */
export function metered<C extends ObjectClass>(binding: ObjectBinding, Base: C): C {
  // @ts-expect-error: a mixin over an abstract constructor; the constructor keeps Base's signature.
  class Metered extends Base {
    constructor(ctx: DurableObjectState, env: Env) {
      const on = meteringOn(env);
      if (on) {
        instrumentStorage(ctx.storage, binding);
        countConsoleLines();
      }
      super(ctx, on ? meteredEnv(env) : env);
      if (on) {
        const clock = new ActiveClock(() => Date.now());
        clocks.set(this, clock);
        instances.push({ binding, clock });
      }
    }
  }
  for (
    let proto = Base.prototype;
    proto && proto !== DurableObject.prototype && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (name === "constructor" || !descriptor || typeof descriptor.value !== "function") continue;
      if (Object.hasOwn(Metered.prototype, name)) continue; // a subclass's override wins
      const method = descriptor.value as (...args: unknown[]) => unknown;
      const counts = RUNTIME_HANDLERS[name];
      Object.defineProperty(Metered.prototype, name, {
        ...descriptor,
        value: function (this: object, ...args: unknown[]) {
          const clock = clocks.get(this);
          if (!clock) return method.apply(this, args);
          if (counts) objectMeters(usage, binding)[counts]++;
          clock.enter();
          let result: unknown;
          try {
            result = method.apply(this, args);
          } catch (e) {
            clock.leave();
            throw e;
          }
          if (result instanceof Promise) return result.finally(() => clock.leave());
          clock.leave();
          return result;
        },
      });
    }
  }
  Object.defineProperty(Metered, "name", { value: Base.name });
  return Metered as unknown as C;
}
