import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../harness/dev-server.ts";
import { descendantsOf, startProcess } from "../../harness/processes.ts";
import { type RunningWorker, startDevWorker } from "../../bench/lib/workers.ts";

/**
 * The benches' dev server (bench/lib/dev-worker.ts through startDevWorker): wrangler dev's
 * environment, without DevTools' inspector unless asked for one. Without it no workerd in the
 * process tree has an inspector address (every console line of the Worker would otherwise be
 * carried to wrangler as a DevTools event, CPU the bench would count as ours); with a port,
 * DevTools answers there (the CPU profile of bench/profile-magic-link.ts attaches to it). The
 * floors' Worker serves in both. wrangler's local trace collector stays off too: on (wrangler's
 * default), every invocation and every storage or RPC call of the Worker is traced to a store
 * on disk in the same workerd, which production does not have either.
 */

/** The command lines of every process below `root`. */
function commandLinesBelow(root: number): string[][] {
  const lines: string[][] = [];
  for (const pid of descendantsOf(root)) {
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"));
    } catch {
      /* raced with exit */
    }
  }
  return lines;
}

const isWorkerd = (args: string[]) => args[0]?.endsWith("/workerd") ?? false;
/** Where wrangler's local trace collector keeps what it collected, under a dev server's state. */
const traceStore = (persist: string) => join(persist, "v3", "observability");
const hasInspector = (args: string[]) => args.some((a) => a.startsWith("--inspector-addr"));

describe("the benches' dev server", () => {
  let worker: RunningWorker | undefined;
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  it("runs wrangler's proxy and the Worker's workerd with no inspector, and serves", async () => {
    worker = await startDevWorker("bench/floor/wrangler.toml", `/tmp/dev-worker-test-${process.pid}-a`, {});
    const workerds = commandLinesBelow(worker.pid).filter(isWorkerd);
    expect(workerds).toHaveLength(2); // wrangler's proxy in front, the Worker's runtime behind it
    expect(workerds.filter(hasInspector)).toEqual([]);
    const res = await fetch(`${worker.url}/instant/api/sfwa/auth`);
    expect(await res.json()).toEqual({ code: "TOUCH_ACCEPTED" });
  }, 90_000);

  it("leaves wrangler's local trace collector off: nothing traced, where wrangler's default keeps a trace store", async () => {
    const benchState = `/tmp/dev-worker-test-${process.pid}-c`;
    const defaultState = `/tmp/dev-worker-test-${process.pid}-d`;
    try {
      worker = await startDevWorker("bench/floor/wrangler.toml", benchState, {});
      expect((await fetch(`${worker.url}/instant/api/sfwa/auth`)).status).toBe(200);
      // The same dev server as wrangler dev runs it by default (X_LOCAL_OBSERVABILITY unset: on).
      const port = await freePort();
      const options = { config: "bench/floor/wrangler.toml", port, persist: defaultState, vars: {} };
      const env = { ...process.env, BENCH_DEV_WORKER: JSON.stringify(options) } as Record<string, string>;
      delete env.X_LOCAL_OBSERVABILITY;
      const traced = startProcess(process.execPath, ["bench/lib/dev-worker.ts"], env);
      try {
        for (let i = 0; i < 600 && !traced.output().includes("ready "); i++) await new Promise((r) => setTimeout(r, 100));
        expect((await fetch(`http://127.0.0.1:${port}/instant/api/sfwa/auth`)).status).toBe(200);
        expect(existsSync(traceStore(defaultState))).toBe(true);
      } finally {
        await traced.stop();
      }
      expect(existsSync(traceStore(benchState))).toBe(false);
    } finally {
      rmSync(defaultState, { recursive: true, force: true });
    }
  }, 120_000);

  it("attaches DevTools' inspector on the port asked for", async () => {
    const port = await freePort();
    worker = await startDevWorker("bench/floor/wrangler.toml", `/tmp/dev-worker-test-${process.pid}-b`, {}, port);
    expect(commandLinesBelow(worker.pid).filter(isWorkerd).filter(hasInspector)).toHaveLength(1);
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{ webSocketDebuggerUrl?: string }>;
    expect(targets.length).toBeGreaterThan(0);
    expect(targets[0]!.webSocketDebuggerUrl).toContain(`127.0.0.1:${port}`);
    expect((await fetch(`${worker.url}/instant/api/sfwa/auth`)).status).toBe(200);
  }, 90_000);
});
