import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** Starts a command in its own process group; stop() ends the whole group (TERM, then KILL). */
export function startProcess(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  options: { cwd?: string } = {},
): { child: ChildProcess; output: () => string; stop: () => Promise<void> } {
  let out = "";
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true, cwd: options.cwd });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* gone */
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    },
  };
}

export async function waitForHttp(url: string, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > until) throw new Error(`${url} not up after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Every process below `rootPid` (children, their children, ...), read from /proc now. */
export function descendantsOf(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* raced with exit */
    }
  }
  const below: number[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      below.push(c);
      walk(c);
    }
  };
  walk(rootPid);
  return below;
}

/** Resident memory (bytes) of every process named `name` below `rootPid`. */
export function rssOfDescendants(rootPid: number, name: string): number {
  let total = 0;
  for (const pid of descendantsOf(rootPid)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      if (status.match(/^Name:\s+(\S+)/m)?.[1]?.includes(name)) total += Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0) * 1024;
    } catch {
      /* gone */
    }
  }
  return total;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Open file descriptors of every process named `name` below `rootPid`, and their soft limit. */
export function fdsOfDescendants(rootPid: number, name: string): { open: number[]; limit: number } {
  const open: number[] = [];
  let limit = 0;
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      if (
        !readFileSync(`/proc/${d}/status`, "utf8")
          .match(/^Name:\s+(\S+)/m)?.[1]
          ?.includes(name)
      )
        continue;
      if (!isDescendant(Number(d), rootPid)) continue;
      open.push(readdirSync(`/proc/${d}/fd`).length);
      limit = Number(readFileSync(`/proc/${d}/limits`, "utf8").match(/Max open files\s+(\d+)/)?.[1] ?? 0);
    } catch {
      /* raced with exit */
    }
  }
  return { open, limit };
}

function isDescendant(pid: number, root: number): boolean {
  for (let p = pid, i = 0; p > 1 && i < 64; i++) {
    if (p === root) return true;
    const stat = readFileSync(`/proc/${p}/stat`, "utf8");
    p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  }
  return false;
}
