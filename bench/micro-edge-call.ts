/**
 * Microbenchmark of the relay's edge call, piece by piece: `node bench/micro-edge-call.ts
 * [variant...]` (MICRO_N calls each, 20000; MICRO_C in flight, 64). The edge is a Node HTTP
 * server in a child process answering `{"code":"TOUCH_ACCEPTED"}`, so only the client's CPU
 * is counted: µs per call of this process (all threads) and of its main thread alone (what
 * bounds a relay process's throughput). Variants take turns, twice, so a shared machine's
 * load hits each alike.
 */
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { Agent, request } from "undici";
import { EdgeClient } from "../relay/src/edge-client.ts";
import { RelayTokenSigner } from "../relay/src/relay-token-signer.ts";

const N = Number(process.env.MICRO_N ?? 20_000);
const C = Number(process.env.MICRO_C ?? 64);

if (process.argv[2] === "serve") {
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end('{"code":"TOUCH_ACCEPTED"}');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send?.((server.address() as { port: number }).port));
} else {
  const child = fork(new URL(import.meta.url).pathname, ["serve"]);
  const port = await new Promise<number>((r) => child.once("message", (m) => r(Number(m))));
  const base = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signer = new RelayTokenSigner(privateKey, "bench", base);
  const body = JSON.stringify({ username: "+46701234567", msisdn: "+46701234567", timeoutSeconds: 25 });
  const path = "/api/relay/v1/touch";
  const token = signer.mint("POST", path, body);
  const pool = new Agent({ keepAliveTimeout: 30_000 });
  // touchBatchMax 1: the single /touch call (this edge answers no batch), as the variants below make it.
  const edge = new EdgeClient({ url: base, relayName: "bench", key: privateKey, timeoutMs: 5000, touchBatchMax: 1 });

  /** The edge call as edge-client.ts made it before dispatch(): request(), a timeout signal, the body as text. */
  const requestAsBefore = async (bearer: string) => {
    const res = await request(`${base}${path}`, {
      method: "POST",
      headers: ["authorization", `Bearer ${bearer}`, "content-type", "application/json"],
      body,
      dispatcher: pool,
      signal: AbortSignal.timeout(30_000),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    return JSON.parse(await res.body.text());
  };

  const variants: Record<string, () => Promise<unknown>> = {
    /** The whole call as the relay makes it (token, request, answer check). */
    touch: () => edge.touch({ username: "+46701234567", msisdn: "+46701234567" }, 25),
    /** Only the token. */
    mint: async () => signer.mint("POST", path, body),
    /** undici request() as edge-client.ts used it, a fixed token: timeout signal, body as text, JSON. */
    request: () => requestAsBefore(token),
    /** A fresh token, then request() as above. */
    "mint+request": () => requestAsBefore(signer.mint("POST", path, body)),
    /** Agent.dispatch() with a handler that keeps the status and the body, one setTimeout per call. */
    dispatch: () =>
      new Promise<unknown>((resolve, reject) => {
        let status = 0;
        const chunks: Buffer[] = [];
        let abort: ((e: Error) => void) | undefined;
        const timer = setTimeout(() => abort?.(new Error("timeout")), 30_000);
        pool.dispatch(
          {
            origin: base,
            path,
            method: "POST",
            headers: ["authorization", `Bearer ${token}`, "content-type", "application/json"],
            body,
            headersTimeout: 30_000,
            bodyTimeout: 30_000,
          },
          {
            onConnect: (a: (e: Error) => void) => {
              abort = a;
            },
            onHeaders: (s: number) => {
              status = s;
              return true;
            },
            onData: (c: Buffer) => {
              chunks.push(c);
              return true;
            },
            onComplete: () => {
              clearTimeout(timer);
              resolve(status === 200 ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined);
            },
            onError: (e: Error) => {
              clearTimeout(timer);
              reject(e);
            },
          } as never,
        );
      }),
    /** The same without the AbortSignal.timeout. */
    "request-nosignal": async () => {
      const res = await request(`${base}${path}`, {
        method: "POST",
        headers: ["authorization", `Bearer ${token}`, "content-type", "application/json"],
        body,
        dispatcher: pool,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      return JSON.parse(await res.body.text());
    },
  };
  const cpuOfMainThread = () => {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(f[11]) + Number(f[12])) * 10_000; // µs
  };
  const run = async (fn: () => Promise<unknown>, n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next < n) {
          next++;
          await fn();
        }
      }),
    );
  };
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(variants);
  for (const name of names) await run(variants[name] ?? (() => Promise.reject(new Error(`no variant ${name}`))), 2000); // warm
  for (let round = 1; round <= 2; round++) {
    for (const name of names) {
      const fn = variants[name];
      if (!fn) continue;
      const cpu = process.cpuUsage();
      const main = cpuOfMainThread();
      const t = performance.now();
      await run(fn, N);
      const all = process.cpuUsage(cpu);
      const wall = performance.now() - t;
      console.log(
        `${name.padEnd(20)} round ${round}: ${((all.user + all.system) / N).toFixed(1).padStart(6)} µs/call all threads, ${((cpuOfMainThread() - main) / N).toFixed(1).padStart(6)} main thread, ${((N / wall) * 1000).toFixed(0)} calls/s`,
      );
    }
  }
  await pool.close();
  child.kill();
}
