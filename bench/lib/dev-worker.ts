/**
 * `wrangler dev` for the benches, run as its own process (`node bench/lib/dev-worker.ts`): the
 * same dev environment the CLI builds (wrangler's bundler, its proxy workerd in front, the
 * Worker's workerd, local D1 and Durable Objects persisted to a directory), through wrangler's
 * `unstable_startWorker`, because the CLI cannot start it without DevTools' inspector.
 *
 * Why without it: with the inspector attached, every console.log of the Worker is turned into
 * a DevTools event, carried through the proxy's inspector proxy to wrangler's node and handled
 * there even at log level warn (~1.6 ms of CPU per Magic Link call on this machine, 2026-11-30,
 * for the one log line each authentication writes). Production has no inspector: Workers Logs
 * collects the lines outside the Worker. Without it workerd writes each line to its stdout,
 * which wrangler reads, as it does for every other run without DevTools.
 *
 * startDevWorker (bench/lib/workers.ts) also starts it with wrangler's local trace collector
 * off (X_LOCAL_OBSERVABILITY=false), which wrangler dev otherwise attaches to every Worker.
 *
 * Options come as JSON in BENCH_DEV_WORKER (see DevWorkerOptions); prints `ready <url>` once
 * it serves, and tears the dev environment down on SIGTERM or SIGINT.
 */
import { unstable_startWorker } from "wrangler";

export interface DevWorkerOptions {
  /** wrangler.toml of the Worker. */
  config: string;
  port: number;
  /** Directory for local D1 and Durable Object state. */
  persist: string;
  /** Plain-text vars, as `--var NAME:value` on the CLI. */
  vars: Record<string, string>;
  /** DevTools' inspector on this port (the CPU profile needs it); off when absent. */
  inspectorPort?: number;
}

const options = JSON.parse(process.env.BENCH_DEV_WORKER ?? "null") as DevWorkerOptions | null;
if (!options) throw new Error("BENCH_DEV_WORKER (JSON options) is not set");

const worker = await unstable_startWorker({
  config: options.config,
  bindings: Object.fromEntries(Object.entries(options.vars).map(([name, value]) => [name, { type: "plain_text", value }])),
  dev: {
    server: { hostname: "127.0.0.1", port: options.port },
    inspector: options.inspectorPort === undefined ? false : { hostname: "127.0.0.1", port: options.inspectorPort },
    persist: options.persist,
    logLevel: "warn",
    watch: false,
    liveReload: false,
  },
});
await worker.ready;
console.log(`ready ${(await worker.url).origin}`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  worker.dispose().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
