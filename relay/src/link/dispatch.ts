import {
  LINK_OPS,
  LinkRequestFrame,
  type LinkErrorCode,
  type LinkOp,
  type LinkResponseFrame,
  type LinkResult,
} from "../../../core/contracts/relay-link.ts";
import type { z } from "zod";
import type { Logger } from "../log.ts";

/** A relay-side handler of one op: gets the validated arguments, returns the op's result. */
export type LinkHandler<O extends LinkOp> = (args: LinkParsedArgs<O>) => Promise<LinkResult<O>>;
/** The arguments after the contract's parsing (usernames normalised). */
export type LinkParsedArgs<O extends LinkOp> = z.output<(typeof LINK_OPS)[O]["args"]>;

/** An error a handler throws to answer with a specific code (anything else answers relay_error). */
export class LinkHandlerError extends Error {
  readonly code: LinkErrorCode;
  constructor(code: LinkErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The relay's side of the link's requests: the handlers by op, each call under a timeout.
 * Register before the link opens: `dispatcher.register("password.change", async ({ username, jwe }) => ...)`.
 * Never throws: every request gets exactly one response frame; what is not a request is
 * logged and dropped (null).
 */
export class LinkDispatcher {
  readonly #handlers = new Map<string, (args: unknown) => Promise<unknown>>();
  readonly #timeoutMs: number;
  readonly #log: Logger;

  constructor(opts: { timeoutMs: number; log: Logger }) {
    this.#timeoutMs = opts.timeoutMs;
    this.#log = opts.log;
  }

  register<O extends LinkOp>(op: O, handler: LinkHandler<O>): this {
    this.#handlers.set(op, handler as (args: unknown) => Promise<unknown>);
    return this;
  }

  ops(): string[] {
    return [...this.#handlers.keys()];
  }

  /** One text message from the edge -> the response frame to send, or null for a frame that is no request. */
  async handle(text: string): Promise<LinkResponseFrame | null> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const frame = LinkRequestFrame.safeParse(json);
    if (!frame.success) {
      this.#log.log("warn", "link_bad_frame", { bytes: text.length });
      return null;
    }
    const { id, op, args } = frame.data;
    const fail = (code: LinkErrorCode, message: string): LinkResponseFrame => ({
      type: "response",
      id,
      ok: false,
      error: { code, message },
    });
    const handler = this.#handlers.get(op);
    if (!handler || !(op in LINK_OPS)) return fail("unsupported", `this relay does not serve ${op.slice(0, 64)}`);
    const spec = LINK_OPS[op as LinkOp];
    const parsed = spec.args.safeParse(args);
    if (!parsed.success) return fail("bad_request", `invalid ${op} arguments`);
    const started = Date.now();
    try {
      const result = await withTimeout(handler(parsed.data), this.#timeoutMs);
      const checked = spec.result.safeParse(result);
      if (!checked.success) {
        this.#log.log("error", "link_handler_bad_result", { op });
        return fail("relay_error", `the relay's ${op} handler gave an invalid result`);
      }
      this.#log.log("info", "link_request", { op, ms: Date.now() - started });
      return { type: "response", id, ok: true, result: checked.data };
    } catch (e) {
      if (e instanceof TimeoutError) {
        this.#log.log("warn", "link_handler_timeout", { op, ms: this.#timeoutMs });
        return fail("timeout", `${op} took longer than ${this.#timeoutMs} ms`);
      }
      if (e instanceof LinkHandlerError) return fail(e.code, e.message.slice(0, 500));
      // The handler's own message may name directory internals: logged here, not sent.
      this.#log.log("error", "link_handler_failed", { op, error: (e as Error).message });
      return fail("relay_error", `${op} failed on the relay`);
    }
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
