/**
 * Cost per Magic Link authentication on Cloudflare (issue 16, item 3). The real Worker on
 * wrangler dev with COST_METERING=on (workers/lib/metering.ts counts Worker requests, Durable
 * Object requests, alarms, SQLite rows, D1 rows, console lines and each object's active time,
 * from the real code path), a "phone" SMS gateway whose user opens the link and accepts. Runs:
 * - accepted at once (BENCH_COST_N, 40, one at a time);
 * - accepted after BENCH_COST_WAIT_MS (5000; BENCH_COST_HELD_N, 20, 5 at a time): what grows
 *   with the wait is active time only, so these two give its slope per class;
 * - not answered, touch-timeout=15 (BENCH_COST_TIMEOUTS, 5 at once);
 * - then (unless BENCH_COST_PURGE=0) the tombstone purges of all of them (the session object's last alarm, 60 s after the
 *   end with tombstoneSeconds=60), counted on their own and added per authentication.
 * Prices: core/cost/prices.ts. Assumptions (printed): the user answers after 20 s on average,
 * Worker CPU per request BENCH_COST_CPU_MS (2; not measurable locally).
 */
import { createHash } from "node:crypto";
import { unstable_readConfig } from "wrangler";
import { CLOUDFLARE_PRICES, PRICE_LIST_DATE } from "../core/cost/prices.ts";
import {
  type Assumptions,
  type CostBreakdown,
  type ObjectUsage,
  type Usage,
  atWait,
  billedObjectRequests,
  costPerMillion,
  emptyUsage,
  type LogSettings,
  logEvents,
  logSettingsOf,
  objectTotals,
  perAuthentication,
} from "../core/cost/usage.ts";
import { answerLink, startPhoneGateway } from "./lib/phone-gateway.ts";
import { describeFailure } from "./lib/sections.ts";
import { BENCH_KEY, startEdge } from "./lib/workers.ts";

export const ASSUMED_WAIT_MS = 20_000;
const TOMBSTONE_SECONDS = 60;
const TIMEOUT_SECONDS = 15;

/** What Workers Logs writes as the deploy config says (wrangler.toml, read by wrangler itself). */
export function deployLogSettings(configPath = "wrangler.toml"): LogSettings {
  return logSettingsOf(unstable_readConfig({ config: configPath }).observability);
}

export interface CostScenario {
  name: string;
  /** Authentications measured. */
  n: number;
  /** Per authentication, the tombstone purge included. */
  perAuth: Usage;
  cost: CostBreakdown;
}

export interface CostReport {
  scenarios: CostScenario[];
  assumptions: Assumptions & { waitMs: number; heldWaitMs: number };
  priceListDate: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let counter = 0;
const msisdn = () => `+4677${String(Date.now() % 1e5).padStart(5, "0")}${String(counter++ % 1e4).padStart(4, "0")}`;

/** Sum of two usages (the purge added to a run). */
export function addUsage(a: Usage, b: Usage): Usage {
  const out: Usage = {
    workerRequests: a.workerRequests + b.workerRequests,
    logLines: a.logLines + b.logLines,
    d1RowsRead: a.d1RowsRead + b.d1RowsRead,
    d1RowsWritten: a.d1RowsWritten + b.d1RowsWritten,
    objects: structuredClone(a.objects),
  };
  for (const [name, o] of Object.entries(b.objects)) {
    const t = out.objects[name];
    out.objects[name] = t
      ? {
          requests: t.requests + o.requests,
          alarms: t.alarms + o.alarms,
          webSocketMessagesIn: t.webSocketMessagesIn + o.webSocketMessagesIn,
          rowsRead: t.rowsRead + o.rowsRead,
          rowsWritten: t.rowsWritten + o.rowsWritten,
          activeMs: t.activeMs + o.activeMs,
        }
      : { ...o };
  }
  return out;
}

export async function runCostBench(): Promise<CostReport> {
  const n = Number(process.env.BENCH_COST_N ?? 40);
  const heldN = Number(process.env.BENCH_COST_HELD_N ?? 20);
  const heldWaitMs = Number(process.env.BENCH_COST_WAIT_MS ?? 5000);
  const timeouts = Number(process.env.BENCH_COST_TIMEOUTS ?? 5);
  const assumptions = {
    cpuMsPerWorkerRequest: Number(process.env.BENCH_COST_CPU_MS ?? 2),
    logs: deployLogSettings(),
    waitMs: ASSUMED_WAIT_MS,
    heldWaitMs,
  };

  const phone = await startPhoneGateway("hold", { keepAlive: false });
  const config = {
    defaultEndpoint: "bench",
    rateLimit: { perMinute: 1000, perHour: 100_000 },
    overload: { maxPending: 50_000, shards: 32 },
    tombstoneSeconds: TOMBSTONE_SECONDS,
    endpoints: [
      { name: "bench", timeoutSeconds: 300, apiKeys: [{ name: "bench", sha256: createHash("sha256").update(BENCH_KEY).digest("hex") }] },
    ],
  };
  const edge = await startEdge(phone.url, 50_000, { COST_METERING: "on", MFA_CONFIG: JSON.stringify(config) });
  try {
    const meters = {
      reset: async () => {
        const res = await fetch(`${edge.url}/__cost/reset`, { method: "POST" });
        if (res.status !== 204) throw new Error(`metering is not on (POST /__cost/reset: ${res.status})`);
      },
      read: async (): Promise<Usage> => {
        await sleep(300); // audit rows and releases run after the response (waitUntil)
        return (await (await fetch(`${edge.url}/__cost/usage`)).json()) as Usage;
      },
    };

    /** One call; the user accepts `answerAfterMs` after the SMS arrives, or never (null). */
    const call = async (answerAfterMs: number | null, timeoutSeconds?: number) => {
      const to = msisdn();
      const q = new URLSearchParams({ msisdn: to, ...(timeoutSeconds ? { "touch-timeout": String(timeoutSeconds) } : {}) });
      const response = fetch(`${edge.url}/api/sfwa/auth?${q}`, { headers: { "api-key": BENCH_KEY } });
      if (answerAfterMs !== null) {
        let link: string | undefined;
        while (!(link = phone.links.get(to))) await sleep(2);
        if (answerAfterMs > 0) await sleep(answerAfterMs);
        const status = await answerLink(link);
        if (status !== 200) throw new Error(`answer POST returned ${status}`);
      }
      const body = (await (await response).json()) as { code: string };
      const expected = answerAfterMs === null ? "USER_NOT_RESPONDED" : "TOUCH_ACCEPTED";
      if (body.code !== expected) throw new Error(`expected ${expected}, got ${body.code}`);
    };
    const run = async (count: number, concurrency: number, one: () => Promise<void>): Promise<Usage> => {
      await meters.reset();
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, count) }, async () => {
          while (next < count) {
            next++;
            await one();
          }
        }),
      );
      return meters.read();
    };

    // Warm up (module load, first objects), not metered.
    for (let i = 0; i < 5; i++) await call(0);
    const firstFinish = Date.now();
    const instant = perAuthentication(await run(n, 1, () => call(0)), n);
    const held = perAuthentication(await run(heldN, 5, () => call(heldWaitMs)), heldN);
    const timedOut = perAuthentication(await run(timeouts, timeouts, () => call(null, TIMEOUT_SECONDS)), timeouts);
    const lastFinish = Date.now();
    if (lastFinish - firstFinish > TOMBSTONE_SECONDS * 1000)
      console.warn("runs took longer than the tombstone: purges may be counted in runs");

    // The purges of every session above (warm-up included) fire from TOMBSTONE_SECONDS after each
    // ended (BENCH_COST_PURGE=0 skips this minute, for a quick look).
    let purge = emptyUsage();
    if (process.env.BENCH_COST_PURGE !== "0") {
      await meters.reset();
      await sleep(lastFinish + TOMBSTONE_SECONDS * 1000 + 5000 - Date.now());
      purge = perAuthentication(await meters.read(), n + heldN + timeouts + 5);
    }

    const scenario = (name: string, count: number, usage: Usage): CostScenario => {
      const perAuth = addUsage(usage, purge);
      return { name, n: count, perAuth, cost: costPerMillion(perAuth, CLOUDFLARE_PRICES, assumptions) };
    };
    return {
      scenarios: [
        scenario("SMS link, accepted at once", n, instant),
        scenario(`SMS link, accepted after ${heldWaitMs / 1000} s (measured)`, heldN, held),
        scenario(
          `SMS link, accepted after ${ASSUMED_WAIT_MS / 1000} s (active time extrapolated)`,
          heldN,
          atWait(instant, held, heldWaitMs, ASSUMED_WAIT_MS),
        ),
        scenario(`not answered, touch-timeout=${TIMEOUT_SECONDS}`, timeouts, timedOut),
      ],
      assumptions,
      priceListDate: PRICE_LIST_DATE,
    };
  } catch (e) {
    throw new Error(`${describeFailure(e)}\nedge output (last lines):\n${edge.output().slice(-2000)}`);
  } finally {
    await edge.stop();
    phone.server.close();
  }
}

const f = (v: number, digits = 2) => (Number.isInteger(v) ? String(v) : v.toFixed(digits));

/** The report as printed by `npm run bench -- cost`. */
export function printCostReport(report: CostReport, print: (line: string) => void = console.log): void {
  for (const s of report.scenarios) {
    print(`\n### ${s.name} (n=${s.n}), per authentication\n`);
    const row = (what: string, o: ObjectUsage) => ({
      what,
      "billed requests": f(billedObjectRequests(o, CLOUDFLARE_PRICES)),
      alarms: f(o.alarms),
      "ws msgs in": f(o.webSocketMessagesIn),
      "rows read": f(o.rowsRead),
      "rows written": f(o.rowsWritten),
      "active s": (o.activeMs / 1000).toFixed(3),
    });
    const rows = Object.entries(s.perAuth.objects)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, o]) => row(`DO ${name}`, o));
    rows.push(row("DO total", objectTotals(s.perAuth)));
    console.table(rows);
    print(
      `Worker requests ${f(s.perAuth.workerRequests)}, D1 rows read ${f(s.perAuth.d1RowsRead)}, D1 rows written ${f(s.perAuth.d1RowsWritten)}, console lines ${f(s.perAuth.logLines)}, Workers Logs events ${f(logEvents(s.perAuth, report.assumptions.logs))}`,
    );
    const c = s.cost;
    print(
      `USD per million authentications: ${c.total.toFixed(2)} = Worker requests ${c.workerRequests.toFixed(2)} + Worker CPU ${c.workerCpu.toFixed(2)} + Workers Logs ${c.logEvents.toFixed(2)} + DO requests ${c.objectRequests.toFixed(2)} + DO duration ${c.objectDuration.toFixed(2)} + DO rows read ${c.objectRowsRead.toFixed(4)} + DO rows written ${c.objectRowsWritten.toFixed(2)} + D1 rows read ${c.d1RowsRead.toFixed(4)} + D1 rows written ${c.d1RowsWritten.toFixed(2)}`,
    );
  }
  const a = report.assumptions;
  const logs = a.logs.enabled
    ? `Workers Logs as wrangler.toml has it: ${a.logs.invocationLogs ? "invocation logs (one per Worker request and per Durable Object call, alarm and incoming WebSocket message) and console lines" : "console lines only, no invocation logs"}, ${a.logs.sampling * 100}% of requests`
    : "Workers Logs off (wrangler.toml)";
  print(
    `\nPrices: Cloudflare Workers Paid, list of ${report.priceListDate} (core/cost/prices.ts), overage rates, monthly inclusions not deducted, SMS excluded. Assumed: Worker CPU ${a.cpuMsPerWorkerRequest} ms per request; ${a.waitMs / 1000} s average wait. ${logs}.`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) printCostReport(await runCostBench());
