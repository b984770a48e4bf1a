/**
 * Benchmark 3: RADIUS Access-Request throughput and latency. The load generator
 * (bench/lib/radius-loadgen.ts, its own process; 64 in flight from 8 source ports) drives
 * three servers in the same run with the same load: the relay, which checks nothing on-prem
 * and asks a local edge that answers at once; FreeRADIUS with rlm_rest asking the same edge
 * over HTTP for every request (how REST-backed MFA integrations plug into FreeRADIUS); and
 * FreeRADIUS answering from its users file. Then the same generator with one request in
 * flight measures a single login's latency. Reports the ratios.
 */
import { availableParallelism } from "node:os";
import { freePort } from "../harness/dev-server.ts";
import { relayKey, startRelay } from "../harness/relay-process.ts";
import { cpuMsOfTree } from "./lib/cpu.ts";
import { startFreeRadius } from "./lib/freeradius.ts";
import { benchLoad, benchRelayConfig, singleLogins, SECRET, startInstantEdge, USER, PASSWORD, WARMUP_REQUESTS } from "./lib/radius-load.ts";

export const RADIUS_SERVERS = {
  usersFile: "FreeRADIUS 3 (users file)",
  rest: "FreeRADIUS 3 + rlm_rest -> instant edge",
  relay: "edge-mfa relay -> instant edge",
  relayProcesses: `edge-mfa relay, ${availableParallelism()} processes -> instant edge`,
} as const;

/** The relay's `processes` for its second row: one per core (docs/operations.md). */
const RELAY_PROCESSES = availableParallelism();

export interface RadiusRow {
  server: string;
  requests: number;
  accepted: number;
  seconds: number;
  perSecond: number;
  /** Latency of a single login: SEQUENTIAL requests one at a time after the load. */
  p50ms: number;
  p99ms: number;
  /** Latency of the load's requests (64 in flight). */
  loadP50ms: number;
  loadP99ms: number;
  /** Requests of the load the generator retransmitted, and those it gave up on. */
  retransmits: number;
  timeouts: number;
  /** The load generator's own CPU time per request (it sleeps while it waits), in µs. */
  generatorCpuUsPerRequest: number;
  /** CPU time (user + system) the server process spent per request under the load, in µs. */
  cpuUsPerRequest: number;
  /**
   * The same per single login (over the single logins and their warm-up): what a login costs
   * the server when it is the only one, where the load shares a batch's edge call among many.
   */
  singleCpuUsPerLogin: number;
  /** Most TCP connections to the edge open at once during the load (0: the server makes no HTTP calls). */
  edgeConnections: number;
  /** Logins per HTTP call to the edge during the load: the relay batches Touch logins; rlm_rest makes one call each (0: no HTTP calls). */
  loginsPerEdgeCall: number;
}

/**
 * User + system CPU time of a server and its live descendants so far, in ms (cpuMsOfTree): a
 * relay with `processes` > 1 works in its workers. NaN for a server without a pid.
 */
const cpuMs = (pid: number | undefined): number => (pid === undefined ? Number.NaN : cpuMsOfTree(pid));

/**
 * Requests sent one at a time (the generator with one in flight) for a single login's latency,
 * after SEQUENTIAL_WARMUP the same way that are not counted (LoadOptions.warmup), the same for
 * every server. The warm-up is for the generator's own first requests (V8 compiling its hot
 * paths) and for the server's single-login path: the relay's load goes out in batches, so its
 * one-login path is still cold after the load (2026-11-30, 2,000 single logins after 500 of
 * warm-up, four times in a row: p99 3.1, 2.3, 1.6, 1.5 ms), while a relay in service, whose
 * logins mostly come one at a time, runs it warm. Its last tier-up came ~3,300 single logins
 * in (2026-11-30, `--trace-opt`: V8's optimising compiler (TurboFan) took undici's response
 * parser and the edge call again, 1-13 ms of compiling each on a thread of two busy cores, and
 * the logins stalled 10-16 ms while it did), inside the measured logins of a 3,000 warm-up.
 * 2,000 measured so that the p99 is the 20th slowest, not the 5th.
 */
const SEQUENTIAL = 2000;
const SEQUENTIAL_WARMUP = 5000;

/**
 * The relay logs a line per login and the bench process, which also runs the instant edge,
 * reads them: kept whole (a few MB over a run), they cost that process work beside the edge
 * for the relay's rows only (2026-11-30, single logins: p50 0.50-0.59 → 0.43 ms). The last
 * lines are enough to see why a relay failed.
 */
const RELAY_OUTPUT_KEPT = 64 * 1024;

export async function runRelayBench(n = Number(process.env.BENCH_RADIUS ?? 20_000)): Promise<RadiusRow[]> {
  const { url: edgeUrl, server: edge, conns, edgeCalls } = await startInstantEdge();
  const key = await relayKey();
  const relayConfig = benchRelayConfig(edgeUrl, key.privateKeyFile);
  const relay = await startRelay(relayConfig, [], { keepOutputChars: RELAY_OUTPUT_KEPT });
  const relays = await startRelay({ ...relayConfig, processes: RELAY_PROCESSES }, [], { keepOutputChars: RELAY_OUTPUT_KEPT });
  // Each FreeRADIUS listens on two ports (IPv4 and IPv6), so ask for them one after the other.
  const frPort = await freePort();
  const freeradius = await startFreeRadius(frPort, SECRET, USER, { kind: "users-file", password: PASSWORD });
  const restPort = await freePort();
  const rest = await startFreeRadius(restPort, SECRET, USER, { kind: "rest", url: edgeUrl });
  try {
    const rows: RadiusRow[] = [];
    for (const [name, port, pid] of [
      [RADIUS_SERVERS.usersFile, frPort, freeradius.pid],
      [RADIUS_SERVERS.rest, restPort, rest.pid],
      [RADIUS_SERVERS.relay, relay.port, relay.pid],
      [RADIUS_SERVERS.relayProcesses, relays.port, relays.pid],
    ] as const) {
      const target = `127.0.0.1:${port}`;
      await benchLoad(target, WARMUP_REQUESTS);
      const cpuBefore = cpuMs(pid);
      for (const c of Object.values(conns)) c.peak = c.open;
      const callsBefore = { ...edgeCalls };
      const load = await benchLoad(target, n);
      const relayLoginsPerCall = (edgeCalls.relayLogins - callsBefore.relayLogins) / (edgeCalls.relay - callsBefore.relay);
      const restLoginsPerCall = load.sent / (edgeCalls.rest - callsBefore.rest);
      const cpuUsPerRequest = ((cpuMs(pid) - cpuBefore) * 1000) / load.sent;
      // One load at a time, so the relay's counter is that of the relay under load.
      const edgeConnections = name === RADIUS_SERVERS.rest ? conns.rest.peak : name === RADIUS_SERVERS.usersFile ? 0 : conns.relay.peak;
      process.stderr.write(
        `  ${name}: ${load.accepted}/${load.sent} accepted in ${load.seconds.toFixed(1)} s (${load.rejected} rejected, ${load.bad} bad replies, ${load.retransmits} retransmits, ${load.timeouts} timed out)\n`,
      );
      // Let both forget the load (FreeRADIUS keeps requests for cleanup_delay = 5 s, up to
      // max_requests, and drops new ones while full).
      await new Promise((r) => setTimeout(r, 6000));
      const singleCpuBefore = cpuMs(pid);
      const single = await singleLogins(target, SEQUENTIAL, SEQUENTIAL_WARMUP);
      const singleCpuUsPerLogin = ((cpuMs(pid) - singleCpuBefore) * 1000) / (SEQUENTIAL + SEQUENTIAL_WARMUP);
      if (single.accepted !== SEQUENTIAL)
        throw new Error(
          `${name}: ${single.accepted}/${SEQUENTIAL} sequential requests accepted (${single.bad} bad, ${single.timeouts} with no reply in 5 s)`,
        );
      rows.push({
        server: name,
        requests: load.sent,
        accepted: load.accepted,
        seconds: load.seconds,
        perSecond: load.perSecond,
        p50ms: single.p50ms,
        p99ms: single.p99ms,
        loadP50ms: load.p50ms,
        loadP99ms: load.p99ms,
        retransmits: load.retransmits,
        timeouts: load.timeouts,
        generatorCpuUsPerRequest: load.cpuUsPerRequest,
        cpuUsPerRequest,
        singleCpuUsPerLogin,
        edgeConnections,
        loginsPerEdgeCall: name === RADIUS_SERVERS.usersFile ? 0 : name === RADIUS_SERVERS.rest ? restLoginsPerCall : relayLoginsPerCall,
      });
    }
    return rows;
  } finally {
    await Promise.all([relay.stop(), relays.stop(), freeradius.stop(), rest.stop()]);
    edge.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runRelayBench());
}
