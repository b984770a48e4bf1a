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
   * Requests sent (the same way) before the measured `total` and not counted: a fresh
   * generator's own first few hundred requests run while V8 is still compiling its hot paths,
   * which showed as outliers at the same request numbers (200, 215, 231, 250) against every
   * server, in the single-login p99 of 500 requests.
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
  /** The generator's own CPU time (user + system) from the first request to the last answer. */
  cpuMs: number;
  cpuUsPerRequest: number;
}

interface Outstanding {
  packet: Buffer;
  authenticator: Buffer;
  firstSent: number;
  sends: number;
  timer: NodeJS.Timeout | undefined;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export async function generateLoad(o: LoadOptions): Promise<LoadResult> {
  if (o.inFlightPerSource < 1 || o.inFlightPerSource > 256)
    throw new Error(`inFlightPerSource: ${o.inFlightPerSource}, 1 to 256 (one identifier each)`);
  const family = isIP(o.host) === 6 ? "udp6" : "udp4";
  const r = { sent: 0, accepted: 0, rejected: 0, challenged: 0, bad: 0, timeouts: 0, retransmits: 0, stray: 0 };
  const latencies: number[] = [];
  let done = 0;
  const sockets = Array.from({ length: o.sources }, () => createSocket(family));
  const cpuBefore = process.cpuUsage();
  const start = performance.now();

  await new Promise<void>((resolve, reject) => {
    const finishOne = () => {
      if (++done === o.total) resolve();
    };
    const source = (socket: Socket) => {
      const outstanding = new Map<number, Outstanding>();
      let nextId = 0;
      const transmit = (id: number, req: Outstanding) => {
        req.sends++;
        socket.send(req.packet);
        req.timer = setTimeout(() => {
          if (req.sends > o.retries) {
            outstanding.delete(id);
            r.timeouts++;
            finishOne();
            sendNext();
          } else {
            r.retransmits++;
            transmit(id, req);
          }
        }, o.timeoutMs);
      };
      const sendNext = () => {
        if (r.sent >= o.total || outstanding.size >= o.inFlightPerSource) return;
        while (outstanding.has(nextId)) nextId = (nextId + 1) & 0xff;
        const id = nextId;
        nextId = (nextId + 1) & 0xff;
        const authenticator = randomBytes(16);
        const packet = accessRequest({ identifier: id, requestAuthenticator: authenticator, ...o });
        const req: Outstanding = { packet, authenticator, firstSent: performance.now(), sends: 0, timer: undefined };
        outstanding.set(id, req);
        r.sent++;
        transmit(id, req);
      };
      socket.on("message", (msg) => {
        const id = msg[1];
        const req = id === undefined ? undefined : outstanding.get(id);
        if (id === undefined || req === undefined) {
          r.stray++;
          return;
        }
        clearTimeout(req.timer);
        outstanding.delete(id);
        const kind = verifyReply(msg, req.authenticator, o.secret);
        if (kind === "bad") r.bad++;
        else {
          latencies.push(performance.now() - req.firstSent);
          if (kind === "accept") r.accepted++;
          else if (kind === "reject") r.rejected++;
          else r.challenged++;
        }
        finishOne();
        sendNext();
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
    if (o.total === 0) resolve();
  });
  // Every request has its answer or has timed out: no timer is left.
  for (const s of sockets) s.close();

  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    ...r,
    seconds,
    perSecond: r.sent / seconds,
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
    cpuMs,
    cpuUsPerRequest: r.sent ? (cpuMs * 1000) / r.sent : 0,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const options = JSON.parse(input) as LoadOptions;
  if (options.warmup) await generateLoad({ ...options, total: options.warmup });
  process.stdout.write(`${JSON.stringify(await generateLoad(options))}\n`);
}
