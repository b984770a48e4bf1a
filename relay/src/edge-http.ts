import type { Dispatcher } from "undici";

/** The whole call took longer than its timeout (connect, request and answer together). */
export class EdgeTimeoutError extends Error {
  override name = "TimeoutError";
}

/** The answer (or one of its lines) is past its cap: the edge broke its promise, the call is dropped. */
export class EdgeAnswerTooLargeError extends Error {
  override name = "EdgeAnswerTooLargeError";
}

/** The edge's answers are a few hundred bytes; a body past this is refused, not buffered. */
export const MAX_EDGE_ANSWER_BYTES = 64 * 1024;
/** One line of a streamed answer (a batched Touch login's `{"i":k,"code":…}`, a reason at most). */
export const MAX_EDGE_LINE_BYTES = 1024;

/** One POST to the edge: where, what, and how long the whole call may take. */
export interface EdgeRequest {
  dispatcher: Dispatcher;
  origin: string;
  path: string;
  /** A flat name/value list: undici takes it as is, without walking an object's keys. */
  headers: string[];
  body: string;
  timeoutMs: number;
}

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
export function postToEdge(request: EdgeRequest): Promise<EdgeHttpAnswer> {
  return new Promise((resolve, reject) => {
    dispatchCall(request, new EdgeCall(resolve, reject));
  });
}

/** How a streamed call ended, when it did not fail. */
export type EdgeStreamEnd =
  /** A 200 of `lineType`, complete: every line went to `onLine` as it arrived. */
  | { kind: "lines" }
  /** Any other answer (another status, another content type), read whole as postToEdge reads it. */
  | { kind: "answer"; answer: EdgeHttpAnswer };

export interface EdgeStream {
  /** Rejects on transport failure, timeout (EdgeTimeoutError), a cap passed (EdgeAnswerTooLargeError) or abort(). */
  done: Promise<EdgeStreamEnd>;
  /** Drops the request (now, or as soon as it has a connection); `done` rejects with `reason` if not yet settled. */
  abort(reason: Error): void;
}

/**
 * postToEdge for an answer of lines (NDJSON): on a 200 whose content type is `lineType`, each
 * line (UTF-8, without its "\n"; empty lines skipped; a last line without "\n" included) goes
 * to `onLine` the moment its end arrives, not when the body ends. `onLine` may call abort().
 * The same timeout and total cap as postToEdge, and each line at most MAX_EDGE_LINE_BYTES.
 */
export function streamFromEdge(request: EdgeRequest, lineType: string, onLine: (line: string) => void): EdgeStream {
  const started: { call?: LineCall } = {};
  const done = new Promise<EdgeStreamEnd>((resolve, reject) => {
    started.call = new LineCall(resolve, reject, lineType, onLine);
    dispatchCall(request, started.call);
  });
  return { done, abort: (reason) => started.call?.stop(reason) };
}

function dispatchCall<T>({ dispatcher, origin, path, headers, body, timeoutMs }: EdgeRequest, call: EdgeCall<T>): void {
  call.timer = setTimeout(() => call.stop(new EdgeTimeoutError(`timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    dispatcher.dispatch(
      { origin, path, method: "POST", headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      call as unknown as Dispatcher.DispatchHandler,
    );
  } catch (e) {
    // undici reports most refusals through onError; one thrown instead settles the call the same way.
    call.onError(e as Error);
  }
}

/**
 * undici's handler interface (onConnect … onComplete / onError) for one call; settles its
 * promise once. It buffers the body (capped) and settles with the status and the text;
 * LineCall streams a body of lines instead.
 */
class EdgeCall<T = EdgeHttpAnswer> {
  timer: ReturnType<typeof setTimeout> | undefined;
  #abort: ((reason: Error) => void) | undefined;
  #stopped: Error | undefined;
  #settled = false;
  protected status = 0;
  #chunks: Buffer[] = [];
  #bytes = 0;
  readonly #resolve: (answer: T) => void;
  readonly #reject: (error: Error) => void;

  constructor(resolve: (answer: T) => void, reject: (error: Error) => void) {
    this.#resolve = resolve;
    this.#reject = reject;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Ends the call from this side (its timeout, a cap, the caller): rejects with `reason` and drops the request. */
  stop(reason: Error): void {
    this.#stopped ??= reason;
    this.settle(reason);
    this.#abort?.(reason);
  }

  onConnect(abort: (reason: Error) => void): void {
    this.#abort = abort;
    // Stopped (timed out) while waiting for a connection: do not send it now.
    if (this.#stopped) abort(this.#stopped);
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    // 1xx are informational; the final status comes after them.
    if (status >= 200) {
      this.status = status;
      this.answerStarts(rawHeaders);
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#bytes += chunk.length;
    if (this.#bytes > MAX_EDGE_ANSWER_BYTES) {
      this.stop(new EdgeAnswerTooLargeError(`edge answer larger than ${MAX_EDGE_ANSWER_BYTES} bytes`));
      return false;
    }
    this.body(chunk);
    return !this.#settled;
  }

  onComplete(): void {
    if (!this.#settled) this.settle(this.complete());
  }

  onError(error: Error): void {
    this.settle(error);
  }

  /** The final status arrived, with these headers (name, value, …). */
  protected answerStarts(_rawHeaders: Buffer[]): void {}

  /** A piece of the body. */
  protected body(chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  /** The body ended cleanly: the call's value. */
  protected complete(): T {
    return this.bufferedAnswer() as T;
  }

  protected bufferedAnswer(): EdgeHttpAnswer {
    const chunks = this.#chunks;
    const text = chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8");
    return { status: this.status, text };
  }

  protected settle(outcome: T | Error): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.timer);
    this.#chunks = [];
    if (outcome instanceof Error) this.#reject(outcome);
    else this.#resolve(outcome);
  }
}

const NEWLINE = 0x0a;

/** A call whose 200 answer of `lineType` is read line by line as it arrives; any other answer is buffered. */
class LineCall extends EdgeCall<EdgeStreamEnd> {
  readonly #lineType: string;
  readonly #onLine: (line: string) => void;
  #lines = false;
  /** The start of a line whose end has not arrived yet. */
  #partial: Buffer[] = [];
  #partialBytes = 0;

  constructor(resolve: (end: EdgeStreamEnd) => void, reject: (error: Error) => void, lineType: string, onLine: (line: string) => void) {
    super(resolve, reject);
    this.#lineType = lineType;
    this.#onLine = onLine;
  }

  protected override answerStarts(rawHeaders: Buffer[]): void {
    this.#lines = this.status === 200 && mediaType(rawHeaders) === this.#lineType;
  }

  protected override body(chunk: Buffer): void {
    if (!this.#lines) {
      super.body(chunk);
      return;
    }
    // "\n" (0x0a) never occurs inside a multi-byte UTF-8 character: splitting bytes is safe.
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1 && !this.settled; end = chunk.indexOf(NEWLINE, start)) {
      const tail = chunk.subarray(start, end);
      start = end + 1;
      const line = this.#partial.length === 0 ? tail : Buffer.concat([...this.#partial, tail]);
      this.#partial = [];
      this.#partialBytes = 0;
      this.#line(line);
    }
    if (this.settled || start === chunk.length) return;
    const rest = chunk.subarray(start);
    this.#partialBytes += rest.length;
    if (this.#partialBytes > MAX_EDGE_LINE_BYTES) {
      this.#tooLong();
      return;
    }
    // A copy: the chunk's memory is undici's once this returns.
    this.#partial.push(Buffer.from(rest));
  }

  protected override complete(): EdgeStreamEnd {
    if (!this.#lines) return { kind: "answer", answer: this.bufferedAnswer() };
    if (this.#partial.length > 0) this.#line(Buffer.concat(this.#partial));
    return { kind: "lines" };
  }

  #line(line: Buffer): void {
    if (line.length > MAX_EDGE_LINE_BYTES) this.#tooLong();
    else if (line.length > 0) this.#onLine(line.toString("utf8"));
  }

  #tooLong(): void {
    this.stop(new EdgeAnswerTooLargeError(`edge answer line longer than ${MAX_EDGE_LINE_BYTES} bytes`));
  }
}

/** The content type's media type (lower case, without parameters), or "" without one. */
function mediaType(rawHeaders: Buffer[]): string {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as Buffer).toString("latin1").toLowerCase() === "content-type") {
      // A repeated header comes as a list: no one type, so none.
      const value: unknown = rawHeaders[i + 1];
      return Buffer.isBuffer(value) ? (value.toString("latin1").split(";")[0] ?? "").trim().toLowerCase() : "";
    }
  }
  return "";
}
