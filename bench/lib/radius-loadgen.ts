/**
 * The RADIUS benchmarks' load generator, run as its own process (runRadiusLoad() in
 * radius-load.ts starts it; the bench process keeps its event loop for the instant edge). It
 * reads a LoadOptions as JSON on stdin, sends `total` Access-Requests from `sources` UDP
 * sockets (distinct source ports: distinct NASes) keeping `inFlightPerSource` outstanding on
 * each, and prints a LoadResult as JSON on stdout.
 *
 * Why not radclient (until 2026-11-30): radclient keeps using CPU while it waits for replies,
 * about one of the machine's two cores for the whole load whatever the server, so the servers
 * shared what was left with it. This one only reacts to events (a reply, a retransmit timer)
 * and sleeps in between.
 *
 * Each reply is matched by identifier and verified (Response Authenticator, and the
 * Message-Authenticator when present): one that fails counts as bad, never as accepted.
 * Retransmits as radclient does: the same packet after `timeoutMs`, `retries` more times,
 * then the request counts as timed out.
 */
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { accessRequest, verifyReply } from "./radius-packet.ts";

export interface LoadOptions {
  host: string;
  port: number;
  secret: string;
  user: string;
  password: string;
  total: number;
  sources: number;
  inFlightPerSource: number;
  timeoutMs: number;
  /** Retransmits of a request before it counts as timed out (radclient -r 3 sends 3 times in all: 2). */
  retries: number;
  /**
   * Requests sent (the same way, by the same sockets and closures) before the measured `total`
   * and not counted: a fresh generator's own first few hundred requests run while V8 is still
   * compiling its hot paths, which showed as outliers at the same request numbers (200, 215,
   * 231, 250) against every server, in the single-login p99 of 500 requests. They are the
   * first `warmup` of one run, not a run of their own: a second call of generateLoad() makes
   * new closures, which V8 compiles again from the start (2026-11-30: outliers of 2-9 ms at
   * the measured requests 9-11, ~501 and 811 against every server, V8's tier-up points).
   */
  warmup?: number;
}

export interface LoadResult {
  sent: number;
  accepted: number;
  rejected: number;
  challenged: number;
  /** Replies that failed verification (Response Authenticator, Message-Authenticator, framing). */
  bad: number;
  /** Requests with no reply after all their retransmits. */
  timeouts: number;
  retransmits: number;
  /** Replies whose identifier matched no request outstanding on their socket (late, duplicated). */
  stray: number;
  seconds: number;
  perSecond: number;
  /** Latency of the answered requests, first send to reply, in ms. */
  p50ms: number;
  p99ms: number;
  /** The generator's own CPU time (user + system) over the whole run, warm-up included, and per request sent in it. */
  cpuMs: number;
  cpuUsPerRequest: number;
}

interface Outstanding {
  /** Its place in the run: the first `warmup` are not measured. */
  seq: number;
  packet: Buffer;
  authenticator: Buffer;
  sends: number;
  timer: NodeJS.Timeout | undefined;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** What became of a request, by its place in the run. */
const Outcome = { Pending: 0, Accept: 1, Reject: 2, Challenge: 3, Bad: 4, Timeout: 5 } as const;
const OUTCOME_OF = { accept: Outcome.Accept, reject: Outcome.Reject, challenge: Outcome.Challenge, bad: Outcome.Bad } as const;

/**
 * Sends `warmup` + `total` requests and reports on the last `total`. The warm-up and the
 * measured requests run through the same code with no branch of its own: every request's send
 * time, answer time, outcome and sends go to arrays by its place in the run, and the counting
 * is done afterwards. A path first taken when the measurement starts made V8 throw away the
 * hot functions' optimised code there and compile them again from the start (2026-11-30:
 * outliers of 2-9 ms at the measured requests 10-11, ~501 and ~811 against every server).
 */
export async function generateLoad(o: LoadOptions): Promise<LoadResult> {
  if (o.inFlightPerSource < 1 || o.inFlightPerSource > 256)
    throw new Error(`inFlightPerSource: ${o.inFlightPerSource}, 1 to 256 (one identifier each)`);
  const family = isIP(o.host) === 6 ? "udp6" : "udp4";
  const warmup = o.warmup ?? 0;
  const all = warmup + o.total;
  // Allocated once: a growing array copies itself while requests are being timed.
  const sentAt = new Float64Array(all);
  const answeredAt = new Float64Array(all);
  const outcome = new Uint8Array(all);
  const sends = new Uint8Array(all);
  let sent = 0;
  let done = 0;
  let stray = 0;
  const sockets = Array.from({ length: o.sources }, () => createSocket(family));
  const cpuBefore = process.cpuUsage();

  await new Promise<void>((resolve, reject) => {
    const source = (socket: Socket) => {
      const outstanding = new Map<number, Outstanding>();
      let nextId = 0;
      const finished = () => {
        if (++done === all) resolve();
        sendNext();
      };
      const transmit = (id: number, req: Outstanding) => {
        req.sends++;
        sends[req.seq] = req.sends;
        socket.send(req.packet);
        req.timer = setTimeout(() => {
          if (req.sends > o.retries) {
            outstanding.delete(id);
            outcome[req.seq] = Outcome.Timeout;
            answeredAt[req.seq] = performance.now();
            finished();
          } else transmit(id, req);
        }, o.timeoutMs);
      };
      const sendNext = () => {
        if (sent >= all || outstanding.size >= o.inFlightPerSource) return;
        while (outstanding.has(nextId)) nextId = (nextId + 1) & 0xff;
        const id = nextId;
        nextId = (nextId + 1) & 0xff;
        const authenticator = randomBytes(16);
        const packet = accessRequest({ identifier: id, requestAuthenticator: authenticator, ...o });
        const req: Outstanding = { seq: sent++, packet, authenticator, sends: 0, timer: undefined };
        outstanding.set(id, req);
        sentAt[req.seq] = performance.now();
        transmit(id, req);
      };
      socket.on("message", (msg) => {
        const id = msg[1];
        const req = id === undefined ? undefined : outstanding.get(id);
        if (id === undefined || req === undefined) {
          stray++;
          return;
        }
        answeredAt[req.seq] = performance.now();
        clearTimeout(req.timer);
        outstanding.delete(id);
        outcome[req.seq] = OUTCOME_OF[verifyReply(msg, req.authenticator, o.secret)];
        finished();
      });
      for (let i = 0; i < o.inFlightPerSource; i++) sendNext();
    };
    let connected = 0;
    for (const socket of sockets) {
      socket.on("error", reject);
      // connect(): the kernel picks the source port and drops datagrams from anyone but the target.
      socket.connect(o.port, o.host, () => {
        if (++connected === sockets.length) for (const s of sockets) source(s);
      });
    }
    if (all === 0) resolve();
  });
  // Every request has its answer or has timed out: no timer is left.
  for (const s of sockets) s.close();
  const cpu = process.cpuUsage(cpuBefore);
  return summarize({ sentAt, answeredAt, outcome, sends, warmup, stray, cpuMs: (cpu.user + cpu.system) / 1000, requestsForCpu: all });
}

/** The measured requests' figures (those after `warmup`), from the per-request arrays. */
function summarize(run: {
  sentAt: Float64Array;
  answeredAt: Float64Array;
  outcome: Uint8Array;
  sends: Uint8Array;
  warmup: number;
  stray: number;
  cpuMs: number;
  requestsForCpu: number;
}): LoadResult {
  const r = { sent: 0, accepted: 0, rejected: 0, challenged: 0, bad: 0, timeouts: 0, retransmits: 0, stray: run.stray };
  const latencies = new Float64Array(run.sentAt.length);
  let answered = 0;
  let lastSettled = run.sentAt[run.warmup] ?? 0;
  for (let i = run.warmup; i < run.sentAt.length; i++) {
    r.sent++;
    r.retransmits += Math.max(0, (run.sends[i] ?? 1) - 1);
    const kind = run.outcome[i];
    const at = run.answeredAt[i] ?? 0;
    // The run lasts until its last request is settled, answered or given up on.
    lastSettled = Math.max(lastSettled, at);
    if (kind === Outcome.Timeout) {
      r.timeouts++;
      continue;
    }
    if (kind === Outcome.Bad) {
      r.bad++;
      continue;
    }
    if (kind === Outcome.Accept) r.accepted++;
    else if (kind === Outcome.Reject) r.rejected++;
    else r.challenged++;
    latencies[answered++] = at - (run.sentAt[i] ?? 0);
  }
  // A bad reply to a warm-up request counts too: the server under test is broken either way.
  for (let i = 0; i < run.warmup; i++) if (run.outcome[i] === Outcome.Bad) r.bad++;
  const seconds = (lastSettled - (run.sentAt[run.warmup] ?? 0)) / 1000;
  const sorted = latencies.subarray(0, answered).sort();
  return {
    ...r,
    seconds,
    perSecond: seconds > 0 ? r.sent / seconds : 0,
    p50ms: percentile(sorted, 50),
    p99ms: percentile(sorted, 99),
    cpuMs: run.cpuMs,
    cpuUsPerRequest: run.requestsForCpu ? (run.cpuMs * 1000) / run.requestsForCpu : 0,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const options = JSON.parse(input) as LoadOptions;
  process.stdout.write(`${JSON.stringify(await generateLoad(options))}\n`);
}
