import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../harness/dev-server.ts";
import { descendantsOf } from "../../harness/processes.ts";
import { type RunningWorker, startDevWorker } from "../../bench/lib/workers.ts";

/**
 * The benches' dev server (bench/lib/dev-worker.ts through startDevWorker): wrangler dev's
 * environment, without DevTools' inspector unless asked for one. Without it no workerd in the
 * process tree has an inspector address (every console line of the Worker would otherwise be
 * carried to wrangler as a DevTools event, CPU the bench would count as ours); with a port,
 * DevTools answers there (the CPU profile of bench/profile-magic-link.ts attaches to it). The
 * floors' Worker serves in both.
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
