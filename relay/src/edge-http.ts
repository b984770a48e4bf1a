import type { Dispatcher } from "undici";

/** The whole call took longer than its timeout (connect, request and answer together). */
export class EdgeTimeoutError extends Error {
  override name = "TimeoutError";
}

/** The edge's answers are a few hundred bytes; a body past this is refused, not buffered. */
export const MAX_EDGE_ANSWER_BYTES = 64 * 1024;

/** One POST and its answer as the relay reads it: the status and the body as text. */
export interface EdgeHttpAnswer {
  status: number;
  text: string;
}

/**
 * One POST to the edge through undici's dispatcher, read by a handler of its own: the status
 * and the body's bytes, nothing else. Profiling the relay under load put undici's request()
 * around it (URL parsing per call, an AsyncResource, the response headers as an object, a
 * Readable stream for a body of a few bytes, consuming it as text) and the call's
 * AbortSignal.timeout() (a timer, a WeakRef and a FinalizationRegistry entry that live until
 * the timeout, long after the answer) at about a third of the HTTP side's CPU per call.
 *
 * `timeoutMs` bounds the whole call as the signal did: one plain timer, cleared with the
 * answer; when it fires the call rejects with EdgeTimeoutError at once and the request is
 * aborted (now, or as soon as undici hands it to a connection). headersTimeout and
 * bodyTimeout are set to the same value, as before.
 */
export function postToEdge(
  dispatcher: Dispatcher,
  origin: string,
  path: string,
  headers: string[],
  body: string,
  timeoutMs: number,
): Promise<EdgeHttpAnswer> {
  return new Promise((resolve, reject) => {
    const call = new EdgeCall(resolve, reject);
    call.timer = setTimeout(() => call.timeout(timeoutMs), timeoutMs);
    dispatcher.dispatch(
      { origin, path, method: "POST", headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      call as unknown as Dispatcher.DispatchHandler,
    );
  });
}

/** undici's handler interface (onConnect … onComplete / onError) for one call; settles its promise once. */
class EdgeCall {
  timer: ReturnType<typeof setTimeout> | undefined;
  #abort: ((reason: Error) => void) | undefined;
  #timedOut: EdgeTimeoutError | undefined;
  #settled = false;
  #status = 0;
  #chunks: Buffer[] = [];
  #bytes = 0;
  readonly #resolve: (answer: EdgeHttpAnswer) => void;
  readonly #reject: (error: Error) => void;

  constructor(resolve: (answer: EdgeHttpAnswer) => void, reject: (error: Error) => void) {
    this.#resolve = resolve;
    this.#reject = reject;
  }

  timeout(timeoutMs: number): void {
    this.#timedOut = new EdgeTimeoutError(`timed out after ${timeoutMs} ms`);
    this.#settle(this.#timedOut);
    this.#abort?.(this.#timedOut);
  }

  onConnect(abort: (reason: Error) => void): void {
    this.#abort = abort;
    // Timed out while waiting for a connection: do not send it now.
    if (this.#timedOut) abort(this.#timedOut);
  }

  onHeaders(status: number): boolean {
    // 1xx are informational; the final status comes after them.
    if (status >= 200) this.#status = status;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#bytes += chunk.length;
    if (this.#bytes > MAX_EDGE_ANSWER_BYTES) {
      const tooLarge = new Error(`edge answer larger than ${MAX_EDGE_ANSWER_BYTES} bytes`);
      this.#settle(tooLarge);
      this.#abort?.(tooLarge);
      return false;
    }
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    const chunks = this.#chunks;
    const text = chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8");
    this.#settle({ status: this.#status, text });
  }

  onError(error: Error): void {
    this.#settle(error);
  }

  #settle(outcome: EdgeHttpAnswer | Error): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.timer);
    this.#chunks = [];
    if (outcome instanceof Error) this.#reject(outcome);
    else this.#resolve(outcome);
  }
}
