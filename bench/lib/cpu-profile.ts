/** Reading a V8 CPU profile (.cpuprofile, as `node --cpu-prof` or the DevTools protocol write it). */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Microseconds per unit of work (`per`: requests, calls) by function: self time, and total
 * time (self + what it called, each function counted once per stack). Labels are
 * "name file:line"; `(idle)`, `(program)` and `(garbage collector)` are V8's own.
 */
export function profileByFunction(
  p: CpuProfile,
  per: number,
  top = 30,
): { self: [string, number][]; total: [string, number][]; busyUs: number } {
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const sampled = new Map<number, number>();
  for (const [i, s] of p.samples.entries()) sampled.set(s, (sampled.get(s) ?? 0) + (p.timeDeltas[i] ?? 0));
  const label = (id: number) => {
    const f = byId.get(id)?.callFrame;
    return f ? `${f.functionName || "(anonymous)"} ${f.url.split("/").at(-1)}:${f.lineNumber + 1}` : "?";
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busy = 0;
  for (const [nodeId, us] of sampled) {
    const own = label(nodeId);
    if (!own.startsWith("(idle)")) busy += us;
    self.set(own, (self.get(own) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = nodeId; at !== undefined; at = parent.get(at)) {
      const l = label(at);
      if (!seen.has(l)) total.set(l, (total.get(l) ?? 0) + us);
      seen.add(l);
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]): [string, number] => [k, us / per]);
  return { self: sorted(self), total: sorted(total), busyUs: busy / per };
}
