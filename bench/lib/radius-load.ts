/**
 * What the RADIUS benchmarks (bench/relay-throughput.ts) and the relay's profile
 * (bench/profile-relay.ts) share: the instant edge both HTTP-backed servers ask, the relay's
 * config against it, and the load (the generator in ./radius-loadgen.ts, run as a child).
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { RELAY_API_BASE, TOUCH_BATCH } from "../../core/contracts/relay-api.ts";
import type { LoadOptions, LoadResult } from "./radius-loadgen.ts";

const LOADGEN = new URL("./radius-loadgen.ts", import.meta.url).pathname;

export const SECRET = "bench-radius-secret";
export const USER = "+46701234567";
export const PASSWORD = "bench-password";
/** What rlm_rest's authenticate sends: the user's credentials as HTTP Basic. */
const REST_AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;

/** Most connections each HTTP client (rlm_rest, the relay) kept to the edge at once; a connection counts for the client of its first request. */
export interface EdgeConnections {
  rest: { open: number; peak: number };
  relay: { open: number; peak: number };
}

/** The relay's calls the instant edge answered and the logins in them (a batched Touch carries several); rlm_rest's calls. */
export interface EdgeCalls {
  relay: number;
  relayLogins: number;
  rest: number;
}

const TOUCH_BATCH_PATH = `${RELAY_API_BASE}${TOUCH_BATCH.path}`;

/**
 * The edge that answers at once: same API shape, no session, no SMS. rlm_rest's calls
 * (/rest/...) get a 2xx, which it takes as accept, when they carry the user's credentials. A
 * batched Touch (core/contracts/relay-api.ts TOUCH_BATCH) gets one accepting line per login:
 * the body is read and parsed for the count, the work the real edge does first too.
 */
export async function startInstantEdge(): Promise<{ url: string; server: Server; conns: EdgeConnections; edgeCalls: EdgeCalls }> {
  const edgeCalls: EdgeCalls = { relay: 0, relayLogins: 0, rest: 0 };
  const server = createServer((req, res) => {
    const batch = req.url === TOUCH_BATCH_PATH;
    const chunks: Buffer[] = [];
    if (batch) req.on("data", (c: Buffer) => chunks.push(c));
    else req.resume();
    req.on("end", () => {
      if (req.url?.startsWith("/rest/")) {
        edgeCalls.rest++;
        res.statusCode = req.headers.authorization === REST_AUTH ? 200 : 401;
        res.setHeader("content-type", "application/json");
        res.end("{}");
        return;
      }
      edgeCalls.relay++;
      if (batch) {
        const { logins } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { logins: unknown[] };
        edgeCalls.relayLogins += logins.length;
        res.setHeader("content-type", TOUCH_BATCH.contentType);
        res.end(logins.map((_, i) => `{"i":${i},"code":"TOUCH_ACCEPTED"}\n`).join(""));
        return;
      }
      edgeCalls.relayLogins++;
      res.setHeader("content-type", "application/json");
      res.end('{"code":"TOUCH_ACCEPTED"}');
    });
  });
  server.keepAliveTimeout = 60_000;
  const conns: EdgeConnections = { rest: { open: 0, peak: 0 }, relay: { open: 0, peak: 0 } };
  const counted = new WeakSet<object>();
  server.on("request", (req) => {
    if (counted.has(req.socket)) return;
    counted.add(req.socket);
    const c = req.url?.startsWith("/rest/") ? conns.rest : conns.relay;
    c.peak = Math.max(c.peak, ++c.open);
    req.socket.once("close", () => c.open--);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, conns, edgeCalls };
}

/** The relay as the benchmarks run it: no password on-prem, Touch for the one user, at the instant edge. */
export function benchRelayConfig(edgeUrl: string, privateKeyFile: string): Record<string, unknown> {
  return {
    clients: [{ name: "bench", address: "127.0.0.1", secret: SECRET }],
    edge: { url: edgeUrl, relayName: "bench", privateKeyFile },
    firstFactor: { type: "none" },
    secondFactor: "touch",
    usernameAsMsisdn: true,
    users: { [USER]: {} },
    log: { level: "info" },
  };
}

/**
 * Requests each server gets before it is measured (BENCH_RADIUS_WARMUP, 6,000), the same for
 * all. The relay's first few thousand requests after its start cost about twice its CPU per
 * request later on (V8 compiling its hot paths as they warm up; 2026-11-30, rounds of 3,000:
 * 352, 209, 153, 153, 166 µs), so a short warm-up measured a relay that had just started.
 */
export const WARMUP_REQUESTS = Number(process.env.BENCH_RADIUS_WARMUP ?? 6000);

/** Requests in flight: NASES source ports (NASes) with PARALLEL / NASES each. */
export const PARALLEL = 64;
const NASES = 8;

/**
 * Runs the load generator (./radius-loadgen.ts) in a process of its own against `target`
 * (host:port) and returns what it counted. Defaults are the bench's load: 64 in flight from 8
 * source ports (the kernel spreads a `processes` > 1 relay's packets over its workers by
 * source address and port, so one port, like one NAS, would reach one worker), each reply
 * waited for 10 s, 3 sends in all (radclient -t 10 -r 3, the load until 2026-11-30).
 * `nodeFlags`: Node's own flags for the generator's process.
 */
export async function runRadiusLoad(
  target: string,
  total: number,
  opts: Partial<Omit<LoadOptions, "host" | "port" | "total">> = {},
  nodeFlags: string[] = [],
): Promise<LoadResult> {
  const at = target.lastIndexOf(":");
  const options: LoadOptions = {
    host: target.slice(0, at).replace(/^\[|\]$/g, ""),
    port: Number(target.slice(at + 1)),
    secret: SECRET,
    user: USER,
    password: PASSWORD,
    total,
    sources: NASES,
    inFlightPerSource: PARALLEL / NASES,
    timeoutMs: 10_000,
    retries: 2,
    ...opts,
  };
  const child = spawn(process.execPath, [...nodeFlags, LOADGEN], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  child.stdin.end(JSON.stringify(options));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  if (code !== 0) throw new Error(`load generator against ${target} exited with ${code}: ${err.trim()}`);
  return JSON.parse(out) as LoadResult;
}

/** The bench's load: `n` rounded up to a multiple of the 64 in flight, as the radclient load sent. */
export function benchLoad(target: string, n: number): Promise<LoadResult> {
  return runRadiusLoad(target, Math.ceil(n / PARALLEL) * PARALLEL);
}

/**
 * The generator runs the single logins without V8's optimising compiler (TurboFan): its
 * compiles of Node's crypto and dgram internals, at fixed request numbers, stalled it for 2-9
 * ms (2026-11-30: outliers at the same requests, 3,010 and 3,811 of its run, against the relay,
 * rlm_rest and the users file alike; a loop of the generator's packet code alone showed them,
 * and not with --no-opt). Against the users file, 2,000 single logins then had 0-1 outliers
 * over 1 ms instead of 7-10. The load keeps the default: there the generator's CPU counts.
 *
 * Its young generation is also made large from the start: it collected every ~199 logins
 * (~178 against the relay, whose replies are longer), and the login in flight took 0.2-0.45 ms
 * more, ~10 of the 2,000 against every server (2026-11-30: period 199 in the latencies of the
 * users file, rlm_rest and the relay alike; gone with these flags, users-file p99 0.26-0.32 →
 * 0.17-0.19 ms). 64 MiB lasts the generator's 7,000 logins.
 */
const SEQUENTIAL_GENERATOR_FLAGS = ["--no-opt", "--min-semi-space-size=64", "--max-semi-space-size=64"];

/**
 * `n` logins one at a time (one source port, one in flight, a reply waited for 5 s, no
 * retransmit), after `warmup` sent the same way and not counted: a single login's latency.
 */
export function singleLogins(target: string, n: number, warmup: number): Promise<LoadResult> {
  return runRadiusLoad(target, n, { sources: 1, inFlightPerSource: 1, timeoutMs: 5000, retries: 0, warmup }, SEQUENTIAL_GENERATOR_FLAGS);
}
