import { EDGE_UNAVAILABLE_ERROR, NUMBER_CHANGED, type ResultCode } from "../../core/contracts/relay.ts";
import { z } from "zod";
import type { TOUCH_BATCH_LOGIN_REFUSALS } from "../../core/contracts/relay-api.ts";
import { EdgeRejectedError, EdgeUnavailableError } from "./edge-errors.ts";
import { classifyEdgeResponse, readTouchBatchLine } from "./edge-response.ts";

type TouchBatchLoginRefusal = (typeof TOUCH_BATCH_LOGIN_REFUSALS)[number];

/** How one login's answer went (as EdgeCallOutcome: only "unavailable" lets the fail mode apply). */
export type LoginOutcome = "ok" | "unavailable" | "refused";

export interface TouchBatchHooks {
  /** A login got its answer here (not one handed to follow()). */
  settled(i: number, outcome: LoginOutcome): void;
  /**
   * No login waits any more: the request can be dropped. `everyLineIn`: each login had its
   * line, so the edge ends the answer by itself now (its connection can be kept).
   */
  allSettled(everyLineIn: boolean): void;
}

/** No 2xx answer but the stream of lines is a batch's answer: a whole JSON body, even a Touch answer, is a refusal. */
const NO_WHOLE_ANSWER = z.never();

interface Waiting {
  resolve: (code: ResultCode) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The answers of the logins of one batched Touch call (TOUCH_BATCH), each settled the moment
 * its line arrives, fail closed: a line that is not one (or names no login of the call, or one
 * already answered) rejects every login still waiting; so does an answer that ends with logins
 * unanswered. A transport failure leaves them unavailable. Each login has its own timeout,
 * after which it is unavailable and the others keep waiting. Pure of HTTP (edge-client.ts
 * feeds it what the stream gives).
 */
export class TouchBatchAnswers {
  readonly answers: Array<Promise<ResultCode>>;
  /** Per login: its resolvers while it waits, undefined once settled or followed. */
  readonly #waiting: Array<Waiting | undefined>;
  /** Per login: whether a line answered it (a second line for it breaks the contract). */
  readonly #lined: boolean[];
  readonly #hooks: TouchBatchHooks;
  #left: number;
  /** The edge broke the contract: no later line is believed. */
  #broken = false;

  /** `timeoutsMs`: each login's own time to wait for its line. */
  constructor(timeoutsMs: number[], hooks: TouchBatchHooks) {
    this.#hooks = hooks;
    this.#left = timeoutsMs.length;
    this.#lined = timeoutsMs.map(() => false);
    const waiting: Array<Waiting | undefined> = [];
    this.answers = timeoutsMs.map(
      (timeoutMs, i) =>
        new Promise<ResultCode>((resolve, reject) => {
          const timer = setTimeout(() => this.#settle(i, new EdgeUnavailableError(`edge timed out after ${timeoutMs} ms`)), timeoutMs);
          waiting.push({ resolve, reject, timer });
        }),
    );
    this.#waiting = waiting;
  }

  /** The logins still waiting, by index. */
  unanswered(): number[] {
    const left: number[] = [];
    this.#waiting.forEach((w, i) => {
      if (w) left.push(i);
    });
    return left;
  }

  /** One line of the answer, as it arrived. */
  line(text: string): void {
    if (this.#broken) return;
    const line = readTouchBatchLine(text);
    const broken = !line
      ? `edge sent a line not as specified: ${text.slice(0, 200)}`
      : line.i >= this.#lined.length
        ? `edge answered login ${line.i} of a call of ${this.#lined.length}`
        : this.#lined[line.i]
          ? `edge answered login ${line.i} twice`
          : undefined;
    if (!line || broken) {
      this.refuse(broken ?? "edge sent a line not as specified");
      return;
    }
    this.#lined[line.i] = true;
    // A login whose own timeout passed already has its answer: its late line changes nothing.
    this.#settle(line.i, "code" in line ? line.code : lineRefusal(line.error));
  }

  /** The answer ended cleanly: a login without its line was broken a promise, never accepted. */
  ended(): void {
    for (const i of this.unanswered()) this.#settle(i, new EdgeRejectedError("touch batch: edge ended its answer without this login"));
  }

  /** The edge broke the contract (or the call could not be made as it must): every login still waiting is rejected. */
  refuse(reason: string): void {
    this.#broken = true;
    for (const i of this.unanswered()) this.#settle(i, new EdgeRejectedError(`touch batch: ${reason}`));
  }

  /** No answer could be had (transport, timeout): every login still waiting is unavailable. */
  failed(error: EdgeUnavailableError): void {
    for (const i of this.unanswered()) this.#settle(i, error);
  }

  /** A whole answer, not lines (another status, another type): read as a single Touch's, for every login. */
  whole(status: number, text: string): void {
    const answer = classifyEdgeResponse(status, text, NO_WHOLE_ANSWER);
    const error =
      answer.kind === "unavailable"
        ? new EdgeUnavailableError(answer.reason)
        : answer.kind === "refused"
          ? new EdgeRejectedError(`touch batch: ${answer.reason}`, answer.error)
          : new EdgeRejectedError("touch batch: edge answered a whole body");
    for (const i of this.unanswered()) this.#settle(i, error);
  }

  /** Login `i` gets the answer of `elsewhere` (sent again alone); its own timeout no longer applies. */
  follow(i: number, elsewhere: Promise<ResultCode>): void {
    const w = this.#take(i);
    if (w) elsewhere.then(w.resolve, w.reject);
  }

  #settle(i: number, outcome: ResultCode | Error): void {
    const w = this.#take(i);
    if (!w) return;
    if (outcome instanceof Error) w.reject(outcome);
    else w.resolve(outcome);
    this.#hooks.settled(i, outcome instanceof EdgeUnavailableError ? "unavailable" : outcome instanceof Error ? "refused" : "ok");
  }

  #take(i: number): Waiting | undefined {
    const w = this.#waiting[i];
    if (!w) return undefined;
    this.#waiting[i] = undefined;
    clearTimeout(w.timer);
    if (--this.#left === 0) {
      const everyLineIn = !this.#broken && this.#lined.every(Boolean);
      queueMicrotask(() => this.#hooks.allSettled(everyLineIn));
    }
    return w;
  }
}

/** A login's own refusal in its line, as the same answer to a single Touch would be read. */
function lineRefusal(error: TouchBatchLoginRefusal): Error {
  if (error === NUMBER_CHANGED) return new EdgeRejectedError("touch batch: number changed", NUMBER_CHANGED);
  if (error === EDGE_UNAVAILABLE_ERROR) return new EdgeUnavailableError("edge reports itself unavailable");
  return new EdgeRejectedError("touch batch: edge refused the login");
}
