import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cpuMsOfTree, cpuMsOfTreeByProgram } from "../../bench/lib/cpu.ts";

/**
 * The Magic Link bench's CPU split (bench/lib/cpu.ts): a process tree's CPU time summed per
 * program, the workerd that runs the Worker (started with an inspector, or without one on a
 * port picked at start) told apart from wrangler's proxy (on the dev server's own port). Real
 * processes: a shell copied under the name "workerd", busy with each of those argument
 * lists, below a parent shell.
 */
const dir = mkdtempSync(join(tmpdir(), "cpu-by-program-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Seconds of CPU each: both are read while running, whatever the machine's load.
const BUSY = "i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done";

describe("cpuMsOfTreeByProgram", () => {
  it("sums each program's CPU over the tree and tells the Worker's workerd from wrangler's proxy", async () => {
    const workerd = join(dir, "workerd");
    copyFileSync("/bin/sh", workerd);
    // The parent waits for the children: two stand for the Worker's runtime, one for the proxy.
    const busy = (args: string) => `"$0" -c '${BUSY}' workerd ${args} &`;
    const children = [
      busy("--socket-addr=entry=127.0.0.1:0 --inspector-addr=127.0.0.1:0"),
      busy("--socket-addr=entry=127.0.0.1:0"),
      busy("--socket-addr=entry=127.0.0.1:8787"),
    ];
    const root = spawn("/bin/sh", ["-c", `${children.join(" ")} wait`, workerd], {
      stdio: "ignore",
      detached: true, // its own process group, stopped as one below
    });
    const exited = new Promise((r) => root.once("exit", r));
    let seen: Record<string, number> = {};
    let total = 0;
    // Read while all still run: a child's time leaves the tree when it exits.
    for (let i = 0; i < 400; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const now = cpuMsOfTreeByProgram(root.pid!);
      if ((now.workerd ?? 0) >= 400 && (now["workerd proxy"] ?? 0) >= 200) {
        seen = now;
        total = cpuMsOfTree(root.pid!);
        break;
      }
    }
    process.kill(-root.pid!, "SIGKILL");
    await exited;
    expect(seen.workerd).toBeGreaterThanOrEqual(400);
    expect(seen["workerd proxy"]).toBeGreaterThanOrEqual(200);
    // Two equal loops against one: the Worker's share is about twice the proxy's (alike if one were miscounted).
    expect(seen.workerd).toBeGreaterThan(1.4 * seen["workerd proxy"]!);
    expect(seen.sh ?? 0).toBeLessThan(100); // the parent only waits
    // The tree's total is the programs' sum (read a moment later: at most a few ticks more).
    const sum = Object.values(seen).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(sum);
    expect(total - sum).toBeLessThan(200);
  }, 30_000);
});
