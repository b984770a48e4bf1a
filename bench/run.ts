/**
 * `npm run bench`: every benchmark, one after the other on this machine, with the
 * comparisons measured side by side in the same run. Sizes via env: BENCH_N (latency
 * samples, 1000), BENCH_PENDING (held sessions, 10000), BENCH_RADIUS (RADIUS requests, 20000;
 * BENCH_RADIUS_WARMUP before them, 6000); BENCH_PENDING_MODE (miniflare, miniflare-http or wrangler-dev; see bench/pending-sessions.ts).
 * BENCH_COST_* (see bench/cost.ts).
 * Select with arguments: magic-link, pending, relay, cost (default: all).
 */
import { type LatencyRow, MAGIC_LINK_CASES, runMagicLinkBench } from "./magic-link.ts";
import { runPendingBench } from "./pending-sessions.ts";
import { RADIUS_SERVERS, runRelayBench } from "./relay-throughput.ts";
import { printCostReport, runCostBench } from "./cost.ts";
import { runSection, summarise, type SectionResult } from "./lib/sections.ts";

const want = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ["magic-link", "pending", "relay", "cost"]);
const ms = (v: number) => v.toFixed(1);
const results: SectionResult[] = [];

if (want.has("magic-link"))
  results.push(
    await runSection("magic-link", async () => {
      console.log(
        "\n## Magic Link overhead (wrangler dev, user answers instantly) vs the same choreography, that plus the guarantees (in two designs), and an instant answer\n",
      );
      const rows = await runMagicLinkBench();
      console.table(
        rows.map((r) => ({
          case: r.name,
          n: r.n,
          "p50 ms": ms(r.p50),
          "p99 ms": ms(r.p99),
          "mean ms": ms(r.mean),
          "server CPU ms/call": r.cpuMsPerCall === undefined ? "" : ms(r.cpuMsPerCall),
          "of it the Worker's workerd": ms(r.cpuMsPerCallBy?.workerd ?? Number.NaN),
          "wrangler's proxy": ms(r.cpuMsPerCallBy?.["workerd proxy"] ?? Number.NaN),
          "wrangler (node)": ms(r.cpuMsPerCallBy?.node ?? Number.NaN),
        })),
      );
      console.log("Steps (medians, ms): call -> SMS at the gateway -> link page read -> answer POST done; API response - POST done");
      console.table(
        rows.flatMap((r) =>
          r.steps
            ? [
                {
                  case: r.name,
                  "to SMS": ms(r.steps.toSms),
                  "SMS to page": ms(r.steps.toPage),
                  "page to answer": ms(r.steps.toAnswered),
                  "response - answer": ms(r.steps.responseAfterAnswer),
                },
              ]
            : [],
        ),
      );
      // Per concurrency: the instant answer, the same choreography, the guarantees floor (one
      // object per session, then in the number's object), then each Magic Link case.
      const cpuRatio = (a: LatencyRow, b: LatencyRow) => ((a.cpuMsPerCall ?? Number.NaN) / (b.cpuMsPerCall ?? Number.NaN)).toFixed(2);
      const workerdRatio = (a: LatencyRow, b: LatencyRow) =>
        ((a.cpuMsPerCallBy?.workerd ?? Number.NaN) / (b.cpuMsPerCallBy?.workerd ?? Number.NaN)).toFixed(2);
      const ratio = (a: LatencyRow, b: LatencyRow) =>
        `p50 ${(a.p50 / b.p50).toFixed(2)}x, p99 ${(a.p99 / b.p99).toFixed(2)}x (added p50 ${ms(a.p50 - b.p50)} ms), server CPU ${cpuRatio(a, b)}x (the Worker's workerd alone ${workerdRatio(a, b)}x)`;
      for (let i = 0; i < rows.length; i += MAGIC_LINK_CASES) {
        const [instant, floor, guarded, merged, ...ours] = rows.slice(i, i + MAGIC_LINK_CASES);
        if (!instant || !floor || !guarded || !merged) continue;
        console.log(`ratio ${guarded.name} / same choreography: ${ratio(guarded, floor)}`);
        console.log(`ratio ${merged.name} / same choreography: ${ratio(merged, floor)}`);
        for (const magic of ours) {
          console.log(
            `ratio ${magic.name} / same choreography: ${ratio(magic, floor)}; / instant answer: p50 ${(magic.p50 / instant.p50).toFixed(2)}x`,
          );
          console.log(`ratio ${magic.name} / choreography + guarantees: ${ratio(magic, guarded)}`);
          console.log(`ratio ${magic.name} / guarantees, sessions in the number's object: ${ratio(magic, merged)}`);
        }
      }
    }),
  );

if (want.has("pending"))
  results.push(
    await runSection("pending", async () => {
      console.log("\n## Concurrent pending sessions held by one local instance\n");
      const r = await runPendingBench();
      console.table([
        {
          mode: r.mode,
          target: r.target,
          "held pending": r.heldPending,
          "answered TOUCH_ACCEPTED": r.accepted,
          "other results": r.other,
          "workerd RSS idle MiB": r.rssBaselineMiB.toFixed(0),
          "workerd RSS pending MiB": r.rssPendingMiB.toFixed(0),
          "KiB per pending session": r.kibPerSession.toFixed(0),
          "open s": r.openSeconds.toFixed(1),
          "answer all s": r.answerSeconds.toFixed(1),
          "workerd open fds": r.fds,
          "bench process fds": r.benchFds,
        },
      ]);
      console.log(`held ${r.heldPending}/${r.target} (${((100 * r.heldPending) / r.target).toFixed(1)}% of target)`);
    }),
  );

if (want.has("relay"))
  results.push(
    await runSection("relay", async () => {
      console.log(
        "\n## RADIUS: relay vs FreeRADIUS + rlm_rest (same instant edge) vs FreeRADIUS (users file), load generator: 64 in flight from 8 source ports; p50/p99 of single requests\n",
      );
      const rows = await runRelayBench();
      console.table(
        rows.map((r) => ({
          server: r.server,
          requests: r.requests,
          accepted: r.accepted,
          "req/s": r.perSecond.toFixed(0),
          "p50 ms": ms(r.p50ms),
          "p99 ms": ms(r.p99ms),
          "load p50/p99 ms": `${ms(r.loadP50ms)} / ${ms(r.loadP99ms)}`,
          "server CPU µs/req": r.cpuUsPerRequest.toFixed(0),
          "single login CPU µs": r.singleCpuUsPerLogin.toFixed(0),
          "generator CPU µs/req": r.generatorCpuUsPerRequest.toFixed(0),
          "edge connections": r.edgeConnections,
          "logins per edge call": r.loginsPerEdgeCall ? r.loginsPerEdgeCall.toFixed(1) : "-",
        })),
      );
      const row = (name: string) => rows.find((r) => r.server === name);
      for (const relay of [row(RADIUS_SERVERS.relay), row(RADIUS_SERVERS.relayProcesses)]) {
        for (const peer of [row(RADIUS_SERVERS.rest), row(RADIUS_SERVERS.usersFile)]) {
          if (!relay || !peer) continue;
          console.log(
            `ratio ${relay.server} / ${peer.server}: throughput ${(relay.perSecond / peer.perSecond).toFixed(2)}x, p50 latency ${(relay.p50ms / peer.p50ms).toFixed(2)}x, p99 ${(relay.p99ms / peer.p99ms).toFixed(2)}x, server CPU of a single login ${(relay.singleCpuUsPerLogin / peer.singleCpuUsPerLogin).toFixed(2)}x, p99 under load ${(relay.loadP99ms / peer.loadP99ms).toFixed(2)}x`,
          );
        }
      }
    }),
  );

if (want.has("cost"))
  results.push(
    await runSection("cost", async () => {
      console.log("\n## Cost per Magic Link authentication on Cloudflare (metered real code path, wrangler dev)\n");
      printCostReport(await runCostBench());
    }),
  );

if (!summarise(results)) process.exitCode = 1;
