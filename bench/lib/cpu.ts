import { readFileSync } from "node:fs";
import { descendantsOf } from "../../harness/processes.ts";

/**
 * CPU time (user + system, ms) used so far by `rootPid` and every process below it (wrangler,
 * its proxy and the workerd that runs the Worker). Unlike latency on a shared machine, the
 * CPU a server spends per call does not depend on what else is running.
 */
export function cpuMsOfTree(rootPid: number): number {
  return Object.values(cpuMsOfTreeByProgram(rootPid)).reduce((a, b) => a + b, 0);
}

/**
 * The same, summed per program (`/proc/<pid>/comm`): "workerd" is the runtime that runs the
 * Worker, its objects and local D1; "workerd proxy" is the workerd wrangler puts in front of
 * it (it forwards the requests, and, when DevTools' inspector is attached, the inspector's
 * messages, among them every line the Worker logs, to wrangler); "node" is wrangler itself,
 * "esbuild" its bundler's watcher. Which part of a dev server's CPU is the runtime, and which
 * the dev tooling around it that production does not have.
 */
export function cpuMsOfTreeByProgram(rootPid: number): Record<string, number> {
  const byProgram: Record<string, number> = {};
  for (const pid of [rootPid, ...descendantsOf(rootPid)]) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // "pid (comm) state ppid ...": utime is field 14, stime 15 (1-based over the whole line).
      const program = programOf(String(pid), stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")));
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(rest[11]) + Number(rest[12]);
      byProgram[program] = (byProgram[program] ?? 0) + ticks * 10; // USER_HZ is 100 on Linux
    } catch {
      /* raced with exit */
    }
  }
  return byProgram;
}

/**
 * wrangler's proxy workerd listens on the dev server's own port; the Worker's workerd listens
 * on a port picked at start (`--socket-addr=entry=127.0.0.1:0`) and is the one DevTools'
 * inspector attaches to when there is one.
 */
function programOf(pid: string, comm: string): string {
  if (comm !== "workerd") return comm;
  const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  const runsWorker = args.some((a) => a.startsWith("--inspector-addr") || /^--socket-addr=entry=[^ ]*:0$/.test(a));
  return runsWorker ? "workerd" : "workerd proxy";
}
