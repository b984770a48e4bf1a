/**
 * Benchmark 2: how many blocking calls one local instance holds, and memory per pending
 * session. Opens N concurrent API calls (each its own number, touch-timeout 300 s) against
 * wrangler dev, waits until every SMS has gone out (so every session is pending in its
 * Durable Object and every call is blocked), reads the workerd processes' RSS, then answers
 * them all and checks that each call returned TOUCH_ACCEPTED.
 */
import { Agent } from "undici";
import { fdsOfDescendants, rssOfDescendants } from "../test/support/processes.ts";
import { startPhoneGateway } from "./lib/phone-gateway.ts";
import { BENCH_KEY, startEdge } from "./lib/workers.ts";

export interface PendingResult {
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
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

export async function runPendingBench(n = Number(process.env.BENCH_PENDING ?? 10_000)): Promise<PendingResult> {
  const phone = await startPhoneGateway("hold");
  // SMS timeout raised: under a burst the local gateway may queue; delivery is not what is measured.
  const edge = await startEdge(phone.url, n * 2, { SMS_TIMEOUT_MS: "60000" });
  // One connection per blocked call; undici's default agent would also do, but be explicit.
  const dispatcher = new Agent({ connections: null, headersTimeout: 600_000, bodyTimeout: 600_000, keepAliveTimeout: 1000 });
  try {
    // Warm up with one full round trip, then take the baseline.
    const warm = fetch(`${edge.url}/api/sfwa/auth?msisdn=%2B46760000000&touch-timeout=300`, { headers: { "api-key": BENCH_KEY } });
    for (let i = 0; i < 200 && !phone.links.has("+46760000000"); i++) await new Promise((r) => setTimeout(r, 50));
    await phone.answer(phone.links.get("+46760000000")!);
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
      for (const m of numbers.slice(w, w + WAVE)) {
        calls.push(
          fetch(`${edge.url}/api/sfwa/auth?msisdn=${encodeURIComponent(m)}&touch-timeout=300`, { headers: { "api-key": BENCH_KEY }, dispatcher } as unknown as RequestInit)
            .then(async (r) => ((await r.json().catch(() => ({}))) as { code?: string }).code ?? `HTTP ${r.status}`)
            .catch((e: unknown) => `ERROR ${String((e as Error).cause ?? e)}`)
            .then((r) => (early.push(r), r)),
        );
      }
      const target = Math.min(n, w + WAVE);
      const waveDeadline = Date.now() + 60_000;
      while (phone.links.size + early.length < target && Date.now() < waveDeadline) await new Promise((r) => setTimeout(r, 100));
      process.stderr.write(
        `  pending: ${phone.links.size}/${n} sessions, workerd RSS ${(rssOfDescendants(edge.pid, "workerd") / 2 ** 20).toFixed(0)} MiB, ended early: ${JSON.stringify(countBy(early))}\n`,
      );
      if (early.length > 0) break; // the instance started refusing: this is its limit
    }
    const openSeconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const held = phone.links.size;
    const pendingRss = rssOfDescendants(edge.pid, "workerd");
    const fds = fdsOfDescendants(edge.pid, "workerd");

    const t1 = performance.now();
    const links = [...phone.links.values()];
    let next = 0;
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < links.length) await phone.answer(links[next++]!).catch(() => 0);
    }));
    const results = await Promise.all(calls);
    const answerSeconds = (performance.now() - t1) / 1000;
    return {
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
    };
  } finally {
    await dispatcher.close().catch(() => {});
    await edge.stop();
    phone.server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table([await runPendingBench()]);
}
