/**
 * Benchmark 2: how many blocking calls one local instance holds, and memory per pending
 * session. Opens N concurrent API calls (each its own number, touch-timeout 300 s) against
 * the real Worker, waits until every SMS has gone out (so every session is pending in its
 * Durable Object and every call is blocked), reads the workerd processes' RSS, then answers
 * them all and checks that each call returned TOUCH_ACCEPTED.
 *
 * BENCH_PENDING_MODE picks the instance and how the calls reach it:
 * - `miniflare` (default): one workerd run by Miniflare in this process, Durable Object
 *   storage in memory, the calls multiplexed over a few WebSockets to a bench-only front
 *   Worker that hands each to the real Worker by service binding (startEdgeInProcess).
 *   workerd then holds no descriptor per call, so 10,000 fit under a 20,000 limit.
 * - `miniflare-http`: the same instance, one HTTP connection per call. This workerd keeps
 *   two descriptors per connection, so it tops out just under 10,000 here.
 * - `wrangler-dev`: `wrangler dev` as a developer runs it. Its proxy workerd and the SQLite
 *   file per Durable Object cost ~7 descriptors per held call: ~2,600-3,100 here.
 */
import { readdirSync } from "node:fs";
import { Agent } from "undici";
import { fdsOfDescendants, rssOfDescendants } from "../harness/processes.ts";
import { startPhoneGateway } from "./lib/phone-gateway.ts";
import { BENCH_KEY, startEdge, startEdgeInProcess } from "./lib/workers.ts";

const MODES = ["miniflare", "miniflare-http", "wrangler-dev"] as const;
export type PendingMode = (typeof MODES)[number];

export interface PendingResult {
  mode: PendingMode;
  target: number;
  heldPending: number;
  accepted: number;
  /** Any result other than TOUCH_ACCEPTED, by code (should be empty). */
  other: string;
  rssBaselineMiB: number;
  rssPendingMiB: number;
  kibPerSession: number;
  openSeconds: number;
  answerSeconds: number;
  /** Open descriptors per workerd process while holding, and the process limit. */
  fds: string;
  /** Open descriptors of this process (clients, SMS gateway, Miniflare) while holding. */
  benchFds: number;
}

/** This process's open descriptors. */
const ownFds = () => readdirSync("/proc/self/fd").length;

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** A blocking API call for `msisdn`; resolves with the result code, `HTTP <status>` or `ERROR ...`. */
type Call = (msisdn: string) => Promise<string>;
const authPath = (msisdn: string) => `/api/sfwa/auth?msisdn=${encodeURIComponent(msisdn)}&touch-timeout=300`;
const codeOf = (status: number, body: string) => {
  try {
    return (JSON.parse(body) as { code?: string }).code ?? `HTTP ${status}`;
  } catch {
    return `HTTP ${status}`;
  }
};

/** One HTTP connection per blocked call, as API clients make them. */
function httpCaller(url: string): { call: Call; close: () => Promise<void> } {
  const dispatcher = new Agent({ connections: null, headersTimeout: 600_000, bodyTimeout: 600_000, keepAliveTimeout: 1000 });
  return {
    call: (msisdn) =>
      fetch(`${url}${authPath(msisdn)}`, { headers: { "api-key": BENCH_KEY }, dispatcher } as unknown as RequestInit)
        .then(async (r) => codeOf(r.status, await r.text()))
        .catch((e: unknown) => `ERROR ${String((e as Error).cause ?? e)}`),
    close: () => dispatcher.close().catch(() => {}),
  };
}

/** Calls sent round-robin over `lanes` WebSockets to the front Worker (see startEdgeInProcess). */
async function muxCaller(muxUrl: string, edgeUrl: string, lanes = 8): Promise<{ call: Call; close: () => Promise<void> }> {
  const waiting = new Map<number, { lane: number; done: (code: string) => void }>();
  const sockets = await Promise.all(
    Array.from({ length: lanes }, (_, lane) => {
      const ws = new WebSocket(muxUrl);
      ws.addEventListener("message", (e) => {
        const { id, status, body } = JSON.parse(String(e.data)) as { id: number; status: number; body: string };
        waiting.get(id)?.done(status === 0 ? `ERROR ${body}` : codeOf(status, body));
        waiting.delete(id);
      });
      ws.addEventListener("close", () => {
        for (const [id, w] of waiting) if (w.lane === lane) w.done("ERROR mux WebSocket closed"), waiting.delete(id);
      });
      return new Promise<WebSocket>((resolve, reject) => {
        ws.addEventListener("open", () => resolve(ws), { once: true });
        ws.addEventListener("error", () => reject(new Error(`cannot open ${muxUrl}`)), { once: true });
      });
    }),
  );
  let next = 0;
  return {
    call: (msisdn) =>
      new Promise((done) => {
        const id = next++;
        const lane = id % lanes;
        waiting.set(id, { lane, done });
        try {
          sockets[lane]!.send(JSON.stringify({ id, url: `${edgeUrl}${authPath(msisdn)}`, headers: { "api-key": BENCH_KEY } }));
        } catch (e) {
          waiting.delete(id);
          done(`ERROR ${String(e)}`); // lane already closed: a lost call, counted, not a crash
        }
      }),
    close: async () => {
      for (const ws of sockets) ws.close();
    },
  };
}

export async function runPendingBench(
  n = Number(process.env.BENCH_PENDING ?? 10_000),
  mode = (process.env.BENCH_PENDING_MODE ?? "miniflare") as PendingMode,
): Promise<PendingResult> {
  if (!MODES.includes(mode)) throw new Error(`BENCH_PENDING_MODE must be one of ${MODES.join(", ")}, got "${mode}"`);
  // Each SMS on a fresh connection that the gateway closes: idle keep-alive connections
  // (one per Durable Object that sent an SMS) would otherwise pile up in workerd.
  const phone = await startPhoneGateway("hold", { keepAlive: false });
  // SMS timeout raised: under a burst the local gateway may queue; delivery is not what is measured.
  const vars = { SMS_TIMEOUT_MS: "60000" };
  const edge =
    mode === "wrangler-dev"
      ? { ...(await startEdge(phone.url, n * 2, vars)), muxUrl: "" }
      : await startEdgeInProcess(phone.url, n * 2, vars);
  const caller = mode === "miniflare" ? await muxCaller(edge.muxUrl, edge.url) : httpCaller(edge.url);
  try {
    // Warm up with one full round trip, then take the baseline.
    const warm = caller.call("+46760000000");
    for (let i = 0; i < 200 && !phone.links.has("+46760000000"); i++) await new Promise((r) => setTimeout(r, 50));
    const warmLink = phone.links.get("+46760000000");
    if (!warmLink) throw new Error(`warm-up call got no SMS (result: ${await warm}); edge log:\n${edge.output()}`);
    await phone.answer(warmLink);
    await warm;
    phone.links.clear();
    await new Promise((r) => setTimeout(r, 1000));
    const baseline = rssOfDescendants(edge.pid, "workerd");

    const t0 = performance.now();
    const numbers = Array.from({ length: n }, (_, i) => `+4677${String(i).padStart(7, "0")}`);
    const calls: Promise<string>[] = [];
    const early: string[] = []; // results that came back while everything should still be pending
    const deadline = Date.now() + Number(process.env.BENCH_OPEN_TIMEOUT_S ?? 900) * 1000;
    // Ramp up in waves: each wave's sessions must be pending (SMS sent) before the next
    // opens, so what is measured is holding, not surviving one SYN flood.
    const WAVE = 500;
    for (let w = 0; w < n && Date.now() < deadline; w += WAVE) {
      for (const m of numbers.slice(w, w + WAVE)) calls.push(caller.call(m).then((r) => (early.push(r), r)));
      const target = Math.min(n, w + WAVE);
      const waveDeadline = Date.now() + 60_000;
      while (phone.links.size + early.length < target && Date.now() < waveDeadline) await new Promise((r) => setTimeout(r, 100));
      process.stderr.write(
        `  pending: ${phone.links.size}/${n} sessions, workerd RSS ${(rssOfDescendants(edge.pid, "workerd") / 2 ** 20).toFixed(0)} MiB, ` +
          `fds workerd ${fdsOfDescendants(edge.pid, "workerd").open.join("+")} bench ${ownFds()}, ended early: ${JSON.stringify(countBy(early))}\n`,
      );
      if (early.length > 0) break; // the instance started refusing: this is its limit
    }
    const openSeconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const held = phone.links.size;
    const pendingRss = rssOfDescendants(edge.pid, "workerd");
    const fds = fdsOfDescendants(edge.pid, "workerd");
    const benchFds = ownFds();

    const t1 = performance.now();
    const links = [...phone.links.values()];
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < links.length) await phone.answer(links[next++]!).catch(() => 0);
      }),
    );
    const results = await Promise.all(calls);
    const answerSeconds = (performance.now() - t1) / 1000;
    return {
      mode,
      target: n,
      heldPending: held,
      accepted: results.filter((r) => r === "TOUCH_ACCEPTED").length,
      other: JSON.stringify(countBy(results.filter((r) => r !== "TOUCH_ACCEPTED").map((r) => r.slice(0, 60)))),
      rssBaselineMiB: baseline / 2 ** 20,
      rssPendingMiB: pendingRss / 2 ** 20,
      kibPerSession: (pendingRss - baseline) / 1024 / Math.max(1, held),
      openSeconds,
      answerSeconds,
      fds: `${fds.open.join(" + ")} of ${fds.limit} each`,
      benchFds,
    };
  } finally {
    await caller.close();
    await edge.stop();
    phone.server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table([await runPendingBench()]);
}
