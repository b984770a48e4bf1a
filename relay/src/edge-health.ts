import { Agent, request } from "undici";

export type EdgeHealthResult = { ok: true } | { ok: false; reason: string };

/**
 * Whether the edge answers, for /healthz: GET {edge}/healthz (unauthenticated, cheap), its
 * result reused for `cacheMs` and one probe at a time, so a load balancer polling every second
 * costs the edge one request per cache period.
 */
export class EdgeHealth {
  readonly #probe: () => Promise<EdgeHealthResult>;
  readonly #cacheMs: number;
  readonly #now: () => number;
  #last: { at: number; result: EdgeHealthResult } | undefined;
  #running: Promise<EdgeHealthResult> | undefined;

  constructor(probe: () => Promise<EdgeHealthResult>, cacheMs: number, now: () => number = Date.now) {
    this.#probe = probe;
    this.#cacheMs = cacheMs;
    this.#now = now;
  }

  check(): Promise<EdgeHealthResult> {
    const last = this.#last;
    if (last && this.#now() - last.at < this.#cacheMs) return Promise.resolve(last.result);
    this.#running ??= this.#probe()
      .catch((e: unknown): EdgeHealthResult => ({ ok: false, reason: `probe failed: ${String(e)}` }))
      .then((result) => {
        this.#last = { at: this.#now(), result };
        this.#running = undefined;
        return result;
      });
    return this.#running;
  }
}

/** The probe over HTTP(S): 2xx from {edgeUrl}/healthz within timeoutMs. */
export function httpEdgeProbe(edgeUrl: string, timeoutMs: number): () => Promise<EdgeHealthResult> {
  const url = `${edgeUrl.replace(/\/$/, "")}/healthz`;
  const pool = new Agent({ keepAliveTimeout: 30_000 });
  return async () => {
    try {
      const res = await request(url, {
        method: "GET",
        dispatcher: pool,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300
        ? { ok: true }
        : { ok: false, reason: `edge /healthz answered ${res.statusCode}` };
    } catch (e) {
      return { ok: false, reason: `edge unreachable: ${(e as Error).message}` };
    }
  };
}
