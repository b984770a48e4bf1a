/**
 * Benchmark 1: Magic Link overhead. Time from the API call to its response when the user
 * answers instantly (a phone-gateway that opens the link and posts Accept as soon as the SMS
 * arrives), against three floors on the same wrangler dev, side by side in one run: the same
 * choreography with nothing else (one Durable Object holds the call, sends the SMS to the same
 * gateway, serves the link page and takes the answer: bench/floor/choreography.ts), that
 * choreography plus the least code that keeps the product's guarantees in the same objects
 * (bench/floor/guarantees.ts), the same guarantees with a number's sessions kept in the number's
 * object (bench/floor/merged.ts), and a Worker that answers at once. Rows come in
 * MAGIC_LINK_CASES per concurrency: instant, choreography, guarantees, guarantees merged, ours,
 * ours with returning numbers.
 */
import { writeFileSync } from "node:fs";
import { percentile } from "../harness/processes.ts";
import { type PhoneSteps, startPhoneGateway } from "./lib/phone-gateway.ts";
import { cpuMsOfTreeByProgram } from "./lib/cpu.ts";
import { describeFailure } from "./lib/sections.ts";
import { BENCH_KEY, startEdge, startFloor } from "./lib/workers.ts";

export interface LatencyRow {
  name: string;
  n: number;
  p50: number;
  p99: number;
  mean: number;
  /** CPU (ms) the server's processes spent per call, when measured (cpuMsOfTree). */
  cpuMsPerCall?: number;
  /**
   * The same per program (cpuMsOfTreeByProgram): "workerd" runs the Worker, its objects and
   * local D1; "workerd proxy" and "node" are wrangler's (its proxy in front of the Worker,
   * and wrangler itself, which reads the Worker's log lines and, with DevTools' inspector
   * attached, gets each as a DevTools event through the proxy). Production has the first only.
   */
  cpuMsPerCallBy?: Record<string, number>;
  /** Medians of the choreography's steps as the client and the phone saw them (rows with an SMS). */
  steps?: StepMedians;
}

/** One call's steps, ms: call -> SMS at the gateway -> link page read -> answer POST done; API response - POST done. */
export interface StepMedians {
  toSms: number;
  toPage: number;
  toAnswered: number;
  responseAfterAnswer: number;
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

type Call = () => Promise<{ start: number; steps?: PhoneSteps }>;
/** A case: its calls and the root process of the server that answers them. */
interface Case {
  name: string;
  call: Call;
  pid: number;
}
interface Sample {
  start: number;
  end: number;
  steps?: PhoneSteps;
}

/** `n` calls, `concurrency` at a time. */
async function runCalls(n: number, concurrency: number, call: Call): Promise<Sample[]> {
  const samples: Sample[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const r = await call();
        samples.push({ ...r, end: performance.now() });
      }
    }),
  );
  return samples;
}

function summarise(name: string, samples: Sample[], cpuBy: Record<string, number>): LatencyRow {
  const times = samples.map((s) => s.end - s.start).sort((a, b) => a - b);
  const full = samples.flatMap(({ start, end, steps }) =>
    steps?.page !== undefined && steps.answered !== undefined
      ? [{ start, end, sms: steps.sms, page: steps.page, answered: steps.answered }]
      : [],
  );
  const row = {
    name,
    n: times.length,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    mean: times.reduce((a, b) => a + b, 0) / times.length,
    cpuMsPerCall: Object.values(cpuBy).reduce((a, b) => a + b, 0) / times.length,
    cpuMsPerCallBy: Object.fromEntries(Object.entries(cpuBy).map(([program, ms]) => [program, ms / times.length])),
  };
  if (!full.length) return row;
  const steps = {
    toSms: median(full.map((t) => t.sms - t.start)),
    toPage: median(full.map((t) => t.page - t.sms)),
    toAnswered: median(full.map((t) => t.answered - t.page)),
    responseAfterAnswer: median(full.map((t) => t.end - t.answered)),
  };
  return { ...row, steps };
}

/**
 * `n` calls per case, the cases taking turns in rounds of a few calls each: on a machine whose
 * load changes from minute to minute, every case sees the same load, so their ratio holds.
 */
async function measureInterleaved(cases: Case[], n: number, concurrency: number): Promise<LatencyRow[]> {
  const round = Math.max(20, 2 * concurrency);
  const samples = cases.map(() => [] as Sample[]);
  const cpu = cases.map((): Record<string, number> => ({}));
  for (let done = 0; done < n; done += round) {
    for (const [i, c] of cases.entries()) {
      const before = cpuMsOfTreeByProgram(c.pid);
      samples[i]?.push(...(await runCalls(Math.min(round, n - done), concurrency, c.call)));
      // Work a call leaves behind (audit rows, releases) lands in the next case's turn: a
      // short pause lets it finish inside this one.
      await new Promise((r) => setTimeout(r, 50));
      const spent = cpu[i] ?? {};
      for (const [program, ms] of Object.entries(cpuMsOfTreeByProgram(c.pid)))
        spent[program] = (spent[program] ?? 0) + ms - (before[program] ?? 0);
      cpu[i] = spent;
    }
  }
  return cases.map((c, i) => summarise(c.name, samples[i] ?? [], cpu[i] ?? {}));
}

let counter = 0;
/** A number never seen before: every call meets a new per-number object (Subscriber), as a first sign-in does. */
const msisdn = () => `+4676${String(Date.now() % 1e5).padStart(5, "0")}${String(counter++ % 1e4).padStart(4, "0")}`;

/**
 * Numbers that sign in again, as most of a real deployment's do: RETURNING of them, taken in
 * turn (never two calls on one number at once at 16 concurrent), each met once before the
 * measurement. The new-number case stays the headline; this one says how much of the gap is
 * meeting a number for the first time.
 */
const RETURNING = 256;
const runId = String(Date.now() % 1e4).padStart(4, "0");
let turn = 0;
const returningMsisdn = () => `+4677${runId}${String(turn++ % RETURNING).padStart(4, "0")}`;

/**
 * Cases measured at each concurrency, in this order: the instant answer, the same choreography,
 * the guarantees floor, the guarantees floor with sessions in the number's object, ours with
 * new numbers, ours with returning numbers.
 */
export const MAGIC_LINK_CASES = 6;

/**
 * Calls per case (BENCH_N): 1,000, so that a p99 is the 10th slowest call, not the 3rd. With
 * 300, ours over the same choreography at p99 was 1.32x and 1.67x in two full runs 36 minutes
 * apart on the same code (2026-11-30 16:25 and 17:01, 16 concurrent).
 */
const CALLS = 1000;

/**
 * The concurrencies measured, in order (BENCH_CONCURRENCY, "1,16"): one level alone shows how
 * much a level's figures owe to the one run before it (docs/benchmarks.md).
 */
function concurrencies(): number[] {
  const raw = process.env.BENCH_CONCURRENCY ?? "1,16";
  const levels = raw.split(",").map((v) => Number(v.trim()));
  if (!levels.length || levels.some((c) => !Number.isInteger(c) || c < 1 || c > 256))
    throw new Error(`BENCH_CONCURRENCY must be a comma-separated list of whole numbers from 1 to 256, not "${raw}"`);
  return levels;
}

export async function runMagicLinkBench(n = Number(process.env.BENCH_N ?? CALLS)): Promise<LatencyRow[]> {
  const phone = await startPhoneGateway("instant");
  const [edge, floor] = await Promise.all([startEdge(phone.url), startFloor(phone.url)]);
  try {
    const api = async (base: string, to = msisdn()) => {
      const start = performance.now();
      const res = await fetch(`${base}/api/sfwa/auth?msisdn=${encodeURIComponent(to)}`, { headers: { "api-key": BENCH_KEY } });
      const body = (await res.json()) as { code: string };
      if (body.code !== "TOUCH_ACCEPTED") throw new Error(`unexpected ${body.code}`);
      const steps = phone.steps.get(to);
      phone.steps.delete(to);
      return steps ? { start, steps } : { start };
    };
    // Warm all (module load, first DO creation), then measure them in turns.
    for (const base of [edge.url, floor.url, `${floor.url}/guarded`, `${floor.url}/merged`, `${floor.url}/instant`])
      await runCalls(30, 1, () => api(base));
    await runCalls(RETURNING, 16, () => api(edge.url, returningMsisdn()));
    const rows: LatencyRow[] = [];
    for (const c of concurrencies()) {
      const cases = [
        { name: `floor: instant answer (c=${c})`, call: () => api(`${floor.url}/instant`), pid: floor.pid },
        { name: `floor: same choreography (c=${c})`, call: () => api(floor.url), pid: floor.pid },
        { name: `floor: choreography + guarantees (c=${c})`, call: () => api(`${floor.url}/guarded`), pid: floor.pid },
        { name: `floor: guarantees, sessions in the number's object (c=${c})`, call: () => api(`${floor.url}/merged`), pid: floor.pid },
        { name: `magic link, instant answer (c=${c})`, call: () => api(edge.url), pid: edge.pid },
        { name: `magic link, returning numbers (c=${c})`, call: () => api(edge.url, returningMsisdn()), pid: edge.pid },
      ];
      if (cases.length !== MAGIC_LINK_CASES) throw new Error(`MAGIC_LINK_CASES says ${MAGIC_LINK_CASES}, there are ${cases.length}`);
      rows.push(...(await measureInterleaved(cases, n, c)));
    }
    // BENCH_EDGE_LOG=file keeps what the edge printed (e.g. timings added while profiling).
    if (process.env.BENCH_EDGE_LOG) writeFileSync(process.env.BENCH_EDGE_LOG, edge.output());
    return rows;
  } catch (e) {
    // Say what the edge was doing: a restart or a crash shows in its last lines.
    throw new Error(`${describeFailure(e)}\nedge output (last lines):\n${edge.output().slice(-2000)}`);
  } finally {
    await Promise.all([edge.stop(), floor.stop()]);
    phone.server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runMagicLinkBench();
  console.table(rows.map((r) => ({ ...r, p50: r.p50.toFixed(1), p99: r.p99.toFixed(1), mean: r.mean.toFixed(1) })));
}
