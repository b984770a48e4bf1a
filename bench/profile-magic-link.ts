/**
 * A CPU profile of the real Worker (its Durable Objects included: one isolate under wrangler
 * dev) over Magic Link calls answered at once, to find where its CPU goes rather than guess.
 * `node bench/profile-magic-link.ts` (PROFILE_N calls, 300; PROFILE_C at a time, 16; written to
 * PROFILE_OUT, magic-link.cpuprofile: open it in Chrome DevTools' Performance panel; PROFILE_NUMBERS:
 * see below; PROFILE_FLOOR=/merged, /guarded or / profiles that floor of bench/floor/ instead,
 * to set beside ours). Prints the
 * functions with the most self and total time per call. The Worker's bundle as workerd ran it
 * is written beside the profile (`<PROFILE_OUT>.index.js`): the line numbers printed are its
 * (0-based), and wrangler deletes its own copy when it stops. The profiler's own cost (every
 * console.log goes to it too) inflates the logging figures.
 */
import { writeFileSync } from "node:fs";
import { freePort } from "../harness/dev-server.ts";
import { startPhoneGateway } from "./lib/phone-gateway.ts";
import { BENCH_KEY, startEdge, startFloor } from "./lib/workers.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const n = Number(process.env.PROFILE_N ?? 300);
const concurrency = Number(process.env.PROFILE_C ?? 16);
const out = process.env.PROFILE_OUT ?? "magic-link.cpuprofile";
/** PROFILE_NUMBERS: cycle through this many numbers (returning users) instead of a new one per call. */
const numbers = Number(process.env.PROFILE_NUMBERS ?? 0);

/** A minimal DevTools protocol client over wrangler's inspector proxy (it wants a DevTools Origin). */
async function inspector(port: number) {
  const WS = WebSocket as unknown as new (url: string, init: { headers: Record<string, string> }) => WebSocket;
  const ws = new WS(`ws://127.0.0.1:${port}/ws`, { headers: { origin: "https://devtools.devprod.cloudflare.dev" } });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", reject);
  });
  let id = 0;
  const scripts: { scriptId: string; url: string }[] = [];
  const waiting = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(String(e.data)) as {
      id?: number;
      result?: unknown;
      error?: unknown;
      method?: string;
      params?: { scriptId: string; url: string };
    };
    if (m.method === "Debugger.scriptParsed" && m.params) scripts.push(m.params);
    if (m.id !== undefined) waiting.get(m.id)?.(m.result ?? m.error);
  });
  const send = (method: string, params = {}) =>
    new Promise<unknown>((resolve) => {
      waiting.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, scripts, close: () => ws.close() };
}

/** Milliseconds per call by function (self time, and total time including what it called). */
function summarise(p: Profile, calls: number): { self: [string, number][]; total: [string, number][] } {
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const sampled = new Map<number, number>();
  for (const [i, s] of p.samples.entries()) sampled.set(s, (sampled.get(s) ?? 0) + (p.timeDeltas[i] ?? 0));
  const label = (node: ProfileNode) =>
    `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").at(-1)}:${node.callFrame.lineNumber}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [nodeId, us] of sampled) {
    const node = byId.get(nodeId);
    if (!node) continue;
    self.set(label(node), (self.get(label(node)) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: ProfileNode | undefined = node; at; at = byId.get(parent.get(at.id) ?? -1)) {
      if (!seen.has(label(at))) total.set(label(at), (total.get(label(at)) ?? 0) + us);
      seen.add(label(at));
    }
  }
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 30)
      .map(([k, us]): [string, number] => [k, us / 1000 / calls]);
  return { self: top(self), total: top(total) };
}

const phone = await startPhoneGateway("instant");
const port = await freePort();
/** A floor's path prefix ("/" for the same choreography), or undefined: ours. */
const floor = process.env.PROFILE_FLOOR;
const edge = floor === undefined ? await startEdge(phone.url, 50_000, {}, port) : await startFloor(phone.url, port);
const base = floor === undefined ? edge.url : `${edge.url}${floor.replace(/\/$/, "")}`;
try {
  let counter = 0;
  const call = async () => {
    const msisdn = numbers
      ? `+46770000${String(counter++ % numbers).padStart(4, "0")}`
      : `+4677${String(Date.now() % 1e5).padStart(5, "0")}${String(counter++ % 1e4).padStart(4, "0")}`;
    const res = await fetch(`${base}/api/sfwa/auth?msisdn=${encodeURIComponent(msisdn)}`, { headers: { "api-key": BENCH_KEY } });
    const body = (await res.json()) as { code: string };
    if (body.code !== "TOUCH_ACCEPTED") throw new Error(`unexpected ${body.code}`);
  };
  const run = async (calls: number, at: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: at }, async () => {
        while (next < calls) {
          next++;
          await call();
        }
      }),
    );
  };
  await run(40, 1); // warm: module load, first objects
  const devtools = await inspector(port);
  await devtools.send("Profiler.enable");
  await devtools.send("Profiler.setSamplingInterval", { interval: 100 });
  await devtools.send("Profiler.start");
  await run(n, concurrency);
  await new Promise((r) => setTimeout(r, 300)); // work after the responses (audit rows, releases)
  const { profile } = (await devtools.send("Profiler.stop")) as { profile: Profile };
  // The bundle's source, for the line numbers (the debugger lists the scripts once enabled).
  await devtools.send("Debugger.enable");
  const bundle = devtools.scripts.find((s) => s.url.endsWith("/index.js"));
  if (bundle) {
    const { scriptSource } = (await devtools.send("Debugger.getScriptSource", { scriptId: bundle.scriptId })) as { scriptSource: string };
    writeFileSync(`${out}.index.js`, scriptSource);
  }
  devtools.close();
  writeFileSync(out, JSON.stringify(profile));
  const { self, total } = summarise(profile, n);
  console.log(`${n} calls, ${concurrency} at a time; profile in ${out}. Self ms per call:`);
  for (const [k, ms] of self) console.log(`${ms.toFixed(2).padStart(7)}  ${k}`);
  console.log("Total (self + callees) ms per call:");
  for (const [k, ms] of total) console.log(`${ms.toFixed(2).padStart(7)}  ${k}`);
} finally {
  await edge.stop();
  phone.server.close();
}
