/**
 * Where the relay's CPU goes per Access-Request, rather than guesses: the bench's load (the
 * load generator, 64 in flight from 8 source ports, bench/lib/radius-load.ts) against the relay asking the instant
 * edge, with `node --cpu-prof` on the relay. `node bench/profile-relay.ts` (PROFILE_N
 * requests, 8000, after BENCH_RADIUS_WARMUP; PROFILE_ROUNDS, 1; PROFILE_PROCESSES, 1; PROFILE=0 for the same run
 * without the profiler; PROFILE_SINGLE=1 for logins one at a time instead, as the bench's
 * single-login latency sends them, after PROFILE_SINGLE_WARMUP of them, 5000; PROFILE_DIR for
 * the .cpuprofile files, a temp dir; open them in Chrome DevTools). Prints req/s and the relay's CPU µs per request (from /proc: the profiler adds
 * its own share), then the functions with the most self and total µs per request.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { relayKey, startRelay } from "../harness/relay-process.ts";
import { cpuMsOfTree } from "./lib/cpu.ts";
import { type CpuProfile, profileByFunction } from "./lib/cpu-profile.ts";
import { benchLoad, benchRelayConfig, singleLogins, startInstantEdge, WARMUP_REQUESTS } from "./lib/radius-load.ts";

const n = Number(process.env.PROFILE_N ?? 8000);
const rounds = Number(process.env.PROFILE_ROUNDS ?? 1);
const processes = Number(process.env.PROFILE_PROCESSES ?? 1);
const profiling = process.env.PROFILE !== "0";
const single = process.env.PROFILE_SINGLE === "1";
const singleWarmup = Number(process.env.PROFILE_SINGLE_WARMUP ?? 5000);
const dir = process.env.PROFILE_DIR ?? mkdtempSync(join(tmpdir(), "edge-mfa-relay-profile-"));

/** User and system CPU ms of one process (the relay, or a worker's primary: then its own share only). */
function userSystemMs(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return [Number(f[11]) * 10, Number(f[12]) * 10];
}

const edge = await startInstantEdge();
const key = await relayKey();
const relay = await startRelay(
  { ...benchRelayConfig(edge.url, key.privateKeyFile), processes },
  profiling ? ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "100"] : [],
  { keepOutputChars: 64 * 1024 },
);
let requests = 0;
try {
  requests += (await benchLoad(relay.target, WARMUP_REQUESTS)).sent;
  if (single) requests += (await singleLogins(relay.target, singleWarmup, 0)).sent;
  for (let i = 0; i < rounds; i++) {
    const pid = relay.pid ?? 0;
    const cpuBefore = cpuMsOfTree(pid);
    const [userBefore, systemBefore] = userSystemMs(pid);
    const callsBefore = { ...edge.edgeCalls };
    const load = single ? await singleLogins(relay.target, n, 0) : await benchLoad(relay.target, n);
    const cpu = cpuMsOfTree(pid) - cpuBefore;
    const [user, system] = userSystemMs(pid);
    const us = (ms: number) => ((ms * 1000) / load.sent).toFixed(0);
    requests += load.sent;
    console.log(
      `round ${i + 1}: ${load.accepted}/${load.sent} accepted, ${load.perSecond.toFixed(0)} req/s (p50 ${load.p50ms.toFixed(1)}, p99 ${load.p99ms.toFixed(1)} ms; generator CPU ${load.cpuUsPerRequest.toFixed(0)} µs/request), relay CPU ${us(cpu)} µs/request${processes === 1 ? ` (user ${us(user - userBefore)}, system ${us(system - systemBefore)})` : ""}, ${edge.conns.relay.peak} edge connections at most, ${((edge.edgeCalls.relayLogins - callsBefore.relayLogins) / (edge.edgeCalls.relay - callsBefore.relay)).toFixed(1)} logins per edge call`,
    );
  }
} finally {
  await relay.stop();
  edge.server.close();
}
if (profiling) {
  // Warm-up included: the profile covers the relay's whole life, so figures are per request sent.
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const { self, total, busyUs } = profileByFunction(profile, requests);
    console.log(`\n${join(dir, file)}: busy ${busyUs.toFixed(0)} µs per request. Self µs per request:`);
    for (const [k, us] of self) console.log(`${us.toFixed(1).padStart(7)}  ${k}`);
    console.log("Total (self + callees) µs per request:");
    for (const [k, us] of total) console.log(`${us.toFixed(1).padStart(7)}  ${k}`);
  }
}
