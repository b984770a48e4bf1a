/**
 * Benchmark 3: RADIUS Access-Request throughput and latency. radclient (-p 64 -c N) drives
 * three servers in the same run with the same load: the relay, which checks nothing on-prem
 * and asks a local edge that answers at once; FreeRADIUS with rlm_rest asking the same edge
 * over HTTP for every request (how REST-backed MFA integrations plug into FreeRADIUS); and
 * FreeRADIUS answering from its users file. Reports the ratios.
 */
import { readFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { availableParallelism } from "node:os";
import radius from "radius";
import { freePort } from "../harness/dev-server.ts";
import { relayKey, startRelay } from "../harness/relay-process.ts";
import { startFreeRadius } from "./lib/freeradius.ts";
import { benchRelayConfig, PASSWORD, radclientLoad, SECRET, startInstantEdge, USER, WARMUP_REQUESTS } from "./lib/radius-load.ts";
import { percentile } from "../harness/processes.ts";

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
  p50ms: number;
  p99ms: number;
  /** CPU time (user + system) the server process spent per request under the load, in µs. */
  cpuUsPerRequest: number;
  /** Most TCP connections to the edge open at once during the load (0: the server makes no HTTP calls). */
  edgeConnections: number;
}

/**
 * User + system CPU time of a process and its live descendants so far, in ms (Linux /proc;
 * clock ticks of 10 ms): a relay with `processes` > 1 works in its workers.
 */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 + children.reduce((sum, child) => sum + cpuMs(child), 0);
}

/** One request at a time from a Node UDP socket: the latency of a single login. */
async function sequentialLatency(port: number, n: number): Promise<number[]> {
  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const packet = radius.encode({
      code: "Access-Request",
      secret: SECRET,
      identifier: i % 256,
      add_message_authenticator: true,
      attributes: [
        ["User-Name", USER],
        ["User-Password", PASSWORD],
      ],
    });
    const t = performance.now();
    const reply = new Promise<Buffer>((resolve) => sock.once("message", resolve));
    sock.send(packet, port, "127.0.0.1");
    const r = await Promise.race([reply, new Promise<null>((res) => setTimeout(() => res(null), 5000))]);
    if (r?.[0] !== 2) throw new Error(`port ${port}, request ${i}: ${r ? `code ${r[0]}` : "no reply in 5 s"}`);
    times.push(performance.now() - t);
  }
  sock.close();
  return times.sort((a, b) => a - b);
}

export async function runRelayBench(n = Number(process.env.BENCH_RADIUS ?? 20_000)): Promise<RadiusRow[]> {
  const { url: edgeUrl, server: edge, conns } = await startInstantEdge();
  const key = await relayKey();
  const relayConfig = benchRelayConfig(edgeUrl, key.privateKeyFile);
  const relay = await startRelay(relayConfig);
  const relays = await startRelay({ ...relayConfig, processes: RELAY_PROCESSES });
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
      await radclientLoad(`127.0.0.1:${port}`, WARMUP_REQUESTS);
      const cpuBefore = cpuMs(pid);
      for (const c of Object.values(conns)) c.peak = c.open;
      const load = await radclientLoad(`127.0.0.1:${port}`, n);
      const cpuUsPerRequest = ((cpuMs(pid) - cpuBefore) * 1000) / load.requests;
      // One load at a time, so the relay's counter is that of the relay under load.
      const edgeConnections = name === RADIUS_SERVERS.rest ? conns.rest.peak : name === RADIUS_SERVERS.usersFile ? 0 : conns.relay.peak;
      process.stderr.write(`  ${name}: ${load.accepted}/${load.requests} accepted in ${load.seconds.toFixed(1)} s\n`);
      // Let both forget the load (FreeRADIUS keeps requests for cleanup_delay = 5 s, up to
      // max_requests, and drops new ones while full).
      await new Promise((r) => setTimeout(r, 6000));
      const lat = await sequentialLatency(port, 500);
      rows.push({
        server: name,
        requests: load.requests,
        accepted: load.accepted,
        seconds: load.seconds,
        perSecond: load.requests / load.seconds,
        p50ms: percentile(lat, 50),
        p99ms: percentile(lat, 99),
        cpuUsPerRequest,
        edgeConnections,
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
