import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildClient } from "../../scripts/build-client.mjs";
import { freePort } from "../../harness/dev-server.ts";
import { startProcess, waitForHttp } from "../../harness/processes.ts";
import type { DevWorkerOptions } from "./dev-worker.ts";

export const BENCH_KEY = "bench-api-key-0123456789";
/**
 * The checkout this file is in: its Workers, its wrangler, started with it as their working
 * directory, whatever the caller's. A script that imports two checkouts' bench/lib/workers.ts
 * thus runs two builds side by side; resolved from the caller's directory, both ran the
 * caller's build (docs/benchmarks.md, "Two builds side by side").
 */
const ROOT = resolve(import.meta.dirname, "../..");
const inRoot = { cwd: ROOT };
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
// node_modules/.bin first: wrangler must run on the project's Node 22, not the system Node.
const quiet = {
  WRANGLER_SEND_METRICS: "false",
  // wrangler appends every message it handles, including a DevTools debug line for each
  // console.log of the Worker, to a debug log file on disk even when it prints none of them:
  // ~0.4 ms of wrangler's CPU per Magic Link call (2026-11-30), counted as the server's.
  WRANGLER_WRITE_LOGS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  // wrangler dev attaches a trace collector to the Worker by default (a streaming tail, with
  // spans for each storage and RPC call, stored in SQLite in the same workerd): a third or more
  // of the Worker's workerd CPU per Magic Link call, ours and the floors' alike (2026-11-30,
  // docs/benchmarks.md). Cloudflare runs no such thing in the Worker's process.
  X_LOCAL_OBSERVABILITY: "false",
  CI: "true",
  PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
};

export interface RunningWorker {
  url: string;
  /** Root of the process tree that holds the workerd process(es) serving `url`. */
  pid: number;
  stop: () => Promise<void>;
  output: () => string;
}

/** The Worker's vars for a bench: SMS to `smsUrl`, one endpoint and key, limits opened up for load. */
function benchVars(smsUrl: string, maxPending: number, vars: Record<string, string>): Record<string, string> {
  const config = {
    defaultEndpoint: "bench",
    rateLimit: { perMinute: 1000, perHour: 100_000 },
    overload: { maxPending, shards: 32 },
    endpoints: [
      { name: "bench", timeoutSeconds: 300, apiKeys: [{ name: "bench", sha256: createHash("sha256").update(BENCH_KEY).digest("hex") }] },
    ],
  };
  return {
    MFA_CONFIG: JSON.stringify(config),
    SMS_PROVIDER: "http",
    SMS_HTTP_URL: `${smsUrl}/sms`,
    SMS_HTTP_BODY: '{"to":"{phone}","message":"{text}"}',
    ...vars,
  };
}

/** Local state on tmpfs when available: measure the Worker, not the disk. */
const stateDir = (prefix: string) => mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), prefix));

/**
 * `wrangler dev`'s environment for `config` (bench/lib/dev-worker.ts, without DevTools'
 * inspector unless `inspectorPort` is given), state in `persist`, in its own process group.
 */
export async function startDevWorker(
  config: string,
  persist: string,
  vars: Record<string, string>,
  inspectorPort?: number,
): Promise<RunningWorker> {
  const port = await freePort();
  const options: DevWorkerOptions = { config, port, persist, vars, inspectorPort };
  const p = startProcess(
    process.execPath,
    [join(import.meta.dirname, "dev-worker.ts")],
    {
      ...quiet,
      BENCH_DEV_WORKER: JSON.stringify(options),
    },
    inRoot,
  );
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    p.child.once("exit", (code) => reject(new Error(`the dev server for ${config} exited (${code}):\n${p.output()}`))),
  );
  const up = waitForHttp(`${url}/healthz`);
  up.catch(() => {}); // after an exit it times out unheard: the exit is the error
  try {
    await Promise.race([up, exited]);
  } catch (e) {
    await p.stop();
    rmSync(persist, { recursive: true, force: true });
    throw e;
  }
  exited.catch(() => {}); // a later exit shows in the bench's own failure
  const stop = async () => {
    await p.stop();
    rmSync(persist, { recursive: true, force: true }); // tmpfs is memory: hundreds of MiB after a pending run
  };
  return { url, pid: p.child.pid!, stop, output: p.output };
}

/**
 * The real Worker under wrangler dev, SMS to `smsUrl`, limits opened up for load. DevTools'
 * inspector only with `inspectorPort` (the CPU profile).
 */
export async function startEdge(
  smsUrl: string,
  maxPending = 50_000,
  vars: Record<string, string> = {},
  inspectorPort?: number,
): Promise<RunningWorker> {
  await buildClient(); // the Worker imports the app bundle (workers/generated/), git-ignored
  const state = stateDir("edge-mfa-bench-");
  const migrate = startProcess(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], quiet, inRoot);
  await new Promise((r) => migrate.child.once("exit", r));
  return startDevWorker("wrangler.toml", state, benchVars(smsUrl, maxPending, vars), inspectorPort);
}

/** The part of miniflare's API used here (typed locally: miniflare is wrangler's dependency, not ours). */
interface MiniflareModule {
  Miniflare: new (
    opts: unknown,
  ) => {
    ready: Promise<URL>;
    unsafeGetDirectURL(workerName: string): Promise<URL>;
    getD1Database(binding: string): Promise<{ prepare(sql: string): unknown; batch(stmts: unknown[]): Promise<unknown> }>;
    dispose(): Promise<void>;
  };
  convertV4MiniflareOptions(opts: unknown): unknown;
}

/**
 * Bench-only front Worker in the same workerd: each WebSocket message {id, url, headers} is
 * sent to the real Worker as a GET through a service binding (in-process, no socket), and
 * the answer comes back as {id, status, body} when the call returns. Lets one workerd hold
 * far more blocking calls than it could hold HTTP connections (see startEdgeInProcess).
 */
const MUX_WORKER = `
export default {
  fetch(request, env) {
    if (request.headers.get("upgrade") !== "websocket") return new Response("websocket only", { status: 426 });
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    server.addEventListener("message", (event) => {
      const { id, url, headers } = JSON.parse(event.data);
      env.EDGE.fetch(url, { headers })
        .then(async (r) => ({ id, status: r.status, body: await r.text() }), (e) => ({ id, status: 0, body: String(e) }))
        .then((m) => server.send(JSON.stringify(m)));
    });
    return new Response(null, { status: 101, webSocket: client });
  },
};`;

export interface InProcessWorker extends RunningWorker {
  /** WebSocket URL of the bench-only front Worker that multiplexes calls to `url`. */
  muxUrl: string;
}

/**
 * The real Worker in one workerd run by Miniflare inside this process, for holding many
 * blocking calls under this sandbox's 20,000 descriptor limit:
 * - no wrangler dev proxy workerd in front (it costs ~3.5 sockets per held call);
 * - Durable Object storage in memory (workerd otherwise opens a SQLite file per object,
 *   ~3.6 descriptors per pending session);
 * - calls can come in over a few WebSockets through MUX_WORKER: this workerd keeps two
 *   descriptors per inbound HTTP connection (it dups each accepted socket to watch for
 *   hangup), so 10,000 held HTTP connections alone would need 20,000.
 * The Worker is bundled by wrangler exactly as for deploy, with the bindings and
 * compatibility date from wrangler.toml; D1 gets the same migrations. It is the entry
 * Worker at `url`, as under wrangler dev. `pid` is this process: workerd is its child.
 */
export async function startEdgeInProcess(smsUrl: string, maxPending = 50_000, vars: Record<string, string> = {}): Promise<InProcessWorker> {
  await buildClient();
  const out = stateDir("edge-mfa-bundle-");
  const build = startProcess(WRANGLER, ["deploy", "--dry-run", "--outdir", out], quiet, inRoot);
  const code = await new Promise((r) => build.child.once("exit", r));
  if (code !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${build.output()}`);

  // The miniflare wrangler itself runs (it matches wrangler's workerd), not whichever is hoisted.
  const fromWrangler = createRequire(createRequire(import.meta.url).resolve("wrangler"));
  const { Miniflare, convertV4MiniflareOptions } = (await import(pathToFileURL(fromWrangler.resolve("miniflare")).href)) as MiniflareModule;
  const { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } = await import("wrangler");
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"));

  let logs = "";
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      // The Worker logs one JSON line per authentication; keep only what signals trouble.
      handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
        if (level === "error" || level === "warn") logs += `${message}\n`;
      },
      workers: [
        {
          name: "edge-mfa",
          // One self-contained ES module: wrangler's module rules have nothing left to match.
          modules: true,
          scriptPath: join(out, "index.js"),
          modulesRoot: out, // module names are relative to it (and may not climb out with ..)
          compatibilityDate: workerOptions.compatibilityDate,
          compatibilityFlags: workerOptions.compatibilityFlags,
          durableObjects: workerOptions.durableObjects,
          d1Databases: workerOptions.d1Databases,
          bindings: { ...(workerOptions.bindings as Record<string, unknown>), ...benchVars(smsUrl, maxPending, vars) },
          unsafeEphemeralDurableObjects: true,
        },
        {
          name: "bench-mux",
          modules: true,
          script: MUX_WORKER,
          compatibilityDate: workerOptions.compatibilityDate,
          serviceBindings: { EDGE: "edge-mfa" },
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
        },
      ],
    }),
  );
  const stop = async () => {
    await mf.dispose();
    rmSync(out, { recursive: true, force: true });
  };
  try {
    const url = (await mf.ready).origin;
    const muxUrl = (await mf.unsafeGetDirectURL("bench-mux")).origin.replace(/^http/, "ws");
    const db = await mf.getD1Database("DB");
    for (const file of readdirSync(join(ROOT, "migrations"))
      .filter((f) => f.endsWith(".sql"))
      .sort()) {
      await db.batch(unstable_splitSqlQuery(readFileSync(join(ROOT, "migrations", file), "utf8")).map((sql) => db.prepare(sql)));
    }
    await waitForHttp(`${url}/healthz`);
    return { url, muxUrl, pid: process.pid, stop, output: () => logs };
  } catch (e) {
    await stop(); // a failed start leaves workerd running otherwise
    throw e;
  }
}

/**
 * The floors (bench/floor/) under the same wrangler dev: `${url}/instant` answers at once,
 * `url` runs the same choreography as a Magic Link authentication, SMS to `smsUrl`. DevTools'
 * inspector only with `inspectorPort` (a CPU profile of a floor).
 */
export async function startFloor(smsUrl: string, inspectorPort?: number): Promise<RunningWorker> {
  // tmpfs, as for the edge
  return startDevWorker("bench/floor/wrangler.toml", stateDir("edge-mfa-floor-"), { SMS_HTTP_URL: `${smsUrl}/sms` }, inspectorPort);
}
