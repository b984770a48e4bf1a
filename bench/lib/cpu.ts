import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time (user + system, ms) used so far by `rootPid` and every process below it (wrangler,
 * its proxy and the workerd that runs the Worker). Unlike latency on a shared machine, the
 * CPU a server spends per call does not depend on what else is running.
 */
export function cpuMsOfTree(rootPid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      // Fields after "(comm) ": state ppid ... utime is field 14, stime 15 (1-based over the whole line).
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(d), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
    } catch {
      /* raced with exit */
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  let ticks = 0;
  const walk = (pid: number) => {
    ticks += stats.get(pid)?.ticks ?? 0;
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(rootPid);
  return ticks * 10; // USER_HZ is 100 on Linux
}
