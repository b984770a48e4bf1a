import { readFileSync } from "node:fs";
import { importJWK, importPKCS8, type CryptoKey as JoseKey, type KeyObject } from "jose";
import { Agent } from "undici";
import type { z } from "zod";
import { TOUCH_ANSWER_SLACK_MS, type ResultCode } from "../../core/contracts/relay.ts";
import {
  RELAY_API_BASE,
  RELAY_CALLS,
  TOUCH_BATCH,
  TOUCH_BATCH_MAX_LOGINS,
  type TouchBatchRequest,
  type WhoSchema,
  type OtpVerdict,
  type RelayAnswer,
  type RelayCallName,
  type RelayRequest,
} from "../../core/contracts/relay-api.ts";
import { EdgeRejectedError, EdgeUnavailableError, transportFailure } from "./edge-errors.ts";
import { EdgeAnswerTooLargeError, postToEdge, streamFromEdge, type EdgeRequest, type EdgeStream } from "./edge-http.ts";
import { classifyEdgeResponse, quickTouchAnswer } from "./edge-response.ts";
import { RelayTokenSigner } from "./relay-token-signer.ts";
import { TouchBatchAnswers } from "./touch-batch-answers.ts";
import { TouchBatcher } from "./touch-batcher.ts";

export { EdgeRejectedError, EdgeUnavailableError };

export type TouchCode = ResultCode;

/** How each call went (for metrics): unavailable lets the fail mode apply, refused never does. */
export type EdgeCallOutcome = "ok" | "unavailable" | "refused";
export type EdgeCallObserver = (call: RelayCallName, seconds: number, outcome: EdgeCallOutcome) => void;
export type { OtpVerdict };

/** Who is logging in: the normalised username (the edge's pin key) and the number that should prove it. */
export type Who = z.input<typeof WhoSchema>;
/** One Touch login as the edge is asked it (alone, or as one of a batch's `logins`). */
type TouchLogin = Who & { timeoutSeconds: number };

/** One login of a batch as the edge validates it. */
const BATCH_LOGIN = TOUCH_BATCH.request.shape.logins.element;

/** How long after an edge answered 404 to a batch (an edge older than the route) every login goes alone. */
export const TOUCH_BATCH_RETRY_MS = 10 * 60_000;
const ALL_ANSWERED = new Error("every login of the batch has its answer");
/**
 * Once every login of a batch has its line the edge ends its answer at once; dropping the
 * request first would cost the connection its keep-alive. Past this it is dropped anyway.
 */
const BATCH_END_GRACE_MS = 1000;

/** One batched call as its answers see it: the stream once started, and the timer that drops it after the grace. */
interface BatchCall {
  stream?: EdgeStream;
  grace?: ReturnType<typeof setTimeout>;
}

export interface EdgeApi {
  touch(who: Who, timeoutSeconds: number): Promise<TouchCode>;
  startSmsOtp(who: Who): Promise<RelayAnswer<"smsOtp">>;
  verifySmsOtp(who: Who, challengeId: string, code: string): Promise<OtpVerdict>;
  verifyTotp(who: Who, code: string): Promise<OtpVerdict>;
  hasTotp(who: Who): Promise<boolean>;
  /** Whether the number has the authenticator app (it can sign a challenge offline). */
  hasApp(who: Who): Promise<boolean>;
  verifyChallengeResponse(who: Who, challenge: string, code: string): Promise<OtpVerdict>;
}

/** The edge's keeping of Access-Challenges for the relays of a site (relay/src/challenge-store.ts). */
export interface EdgeChallengeApi {
  /** The State (hex) of the challenge kept at the edge. */
  issueChallenge(c: RelayRequest<"challengeIssue">): Promise<string>;
  redeemChallenge(r: RelayRequest<"challengeRedeem">): Promise<RelayAnswer<"challengeRedeem">>;
}

/** The calls as this client uses them: each name's answer schema typed by that name (no casts). */
const CALLS: { readonly [N in RelayCallName]: { readonly path: string; readonly answer: z.ZodType<RelayAnswer<N>> } } = RELAY_CALLS;

/** Hand checks of the answers on the hot path (edge-response.ts); the schema still decides all else. */
const QUICK: { readonly [N in RelayCallName]?: (json: unknown) => RelayAnswer<N> | undefined } = { touch: quickTouchAnswer };

export async function loadPrivateKey(path: string): Promise<JoseKey | KeyObject> {
  const text = readFileSync(path, "utf8").trim();
  if (text.startsWith("{")) return (await importJWK(JSON.parse(text), "ES256")) as JoseKey;
  return importPKCS8(text, "ES256");
}

/**
 * HTTPS client of the edge's relay API (core/contracts/relay-api.ts): the bodies the edge
 * promises there are the only ones accepted; anything else is a refusal.
 */
export class EdgeClient implements EdgeApi, EdgeChallengeApi {
  /** The edge's origin, and the path its URL may put before the API's paths (no trailing slash). */
  readonly #origin: string;
  readonly #prefix: string;
  /** Signs each call's token; its audience is the edge's origin, so a token for one edge is useless at another. */
  readonly #signer: RelayTokenSigner;
  readonly #timeoutMs: number;
  readonly #observe: EdgeCallObserver | undefined;
  /**
   * Keep-alive connections to the edge. undici's request() costs a fraction of global
   * fetch() per call (measured ~0.2 ms vs ~1.5 ms under load), most of the relay's own
   * overhead per login. Unbounded: every Touch holds a connection while the user decides.
   */
  readonly #pool = new Agent({ keepAliveTimeout: 30_000 });

  readonly #observeLoginsPerCall: ((logins: number) => void) | undefined;
  /** Touch logins of one event-loop round go to the edge together (touch-batcher.ts). */
  readonly #batcher: TouchBatcher<TouchLogin, TouchCode>;

  /**
   * `touchBatchMax`: the most Touch logins in one call (1..TOUCH_BATCH_MAX_LOGINS, the default;
   * 1 sends each alone). `observeLoginsPerCall`: the logins each Touch call to the edge carried.
   */
  constructor(opts: {
    url: string;
    relayName: string;
    key: JoseKey | KeyObject;
    timeoutMs: number;
    observe?: EdgeCallObserver;
    touchBatchMax?: number;
    observeLoginsPerCall?: (logins: number) => void;
  }) {
    this.#observe = opts.observe;
    this.#observeLoginsPerCall = opts.observeLoginsPerCall;
    const url = new URL(opts.url);
    this.#origin = url.origin;
    this.#prefix = url.pathname.replace(/\/$/, "");
    this.#signer = new RelayTokenSigner(opts.key, opts.relayName, url.origin);
    this.#timeoutMs = opts.timeoutMs;
    const max = opts.touchBatchMax ?? TOUCH_BATCH_MAX_LOGINS;
    if (!Number.isInteger(max) || max < 1 || max > TOUCH_BATCH_MAX_LOGINS) {
      throw new Error(`edge.touchBatchMax: an integer from 1 to ${TOUCH_BATCH_MAX_LOGINS}, got ${max}`);
    }
    this.#batcher = new TouchBatcher({
      max,
      sendOne: (login) => this.#touchOne(login),
      sendBatch: (logins) => this.#touchBatch(logins),
      // The edge refuses a whole batch for one bad login: such a login goes alone, refused alone.
      alone: (login) => !BATCH_LOGIN.safeParse(login).success,
    });
  }

  touch(who: Who, timeoutSeconds: number): Promise<TouchCode> {
    return this.#batcher.send({ ...who, timeoutSeconds });
  }

  startSmsOtp(who: Who) {
    return this.#call("smsOtp", who);
  }

  async verifySmsOtp(who: Who, challengeId: string, code: string): Promise<OtpVerdict> {
    return (await this.#call("smsOtpVerify", { ...who, challengeId, code })).result;
  }

  async verifyTotp(who: Who, code: string): Promise<OtpVerdict> {
    return (await this.#call("totpVerify", { ...who, code })).result;
  }

  async hasTotp(who: Who): Promise<boolean> {
    return (await this.#call("subscriber", who)).totp;
  }

  async hasApp(who: Who): Promise<boolean> {
    return (await this.#call("subscriber", who)).app;
  }

  async verifyChallengeResponse(who: Who, challenge: string, code: string): Promise<OtpVerdict> {
    return (await this.#call("challengeResponseVerify", { ...who, challenge, code })).result;
  }

  async issueChallenge(c: RelayRequest<"challengeIssue">): Promise<string> {
    return (await this.#call("challengeIssue", c)).state;
  }

  redeemChallenge(r: RelayRequest<"challengeRedeem">) {
    return this.#call("challengeRedeem", r);
  }

  async #call<N extends RelayCallName>(name: N, payload: RelayRequest<N>, timeoutMs = this.#timeoutMs): Promise<RelayAnswer<N>> {
    const call = CALLS[name];
    const started = performance.now();
    const done = (outcome: EdgeCallOutcome) => this.#observe?.(name, (performance.now() - started) / 1000, outcome);
    try {
      const answer = await this.#post(`${RELAY_API_BASE}${call.path}`, payload, call.answer, timeoutMs, QUICK[name]);
      done("ok");
      return answer;
    } catch (e) {
      done(e instanceof EdgeUnavailableError ? "unavailable" : "refused");
      throw e;
    }
  }

  /** One Touch login alone: the relay API's /touch call. */
  async #touchOne(login: TouchLogin): Promise<TouchCode> {
    this.#observeLoginsPerCall?.(1);
    // The edge blocks for up to timeoutSeconds; allow for delivery and network on top.
    return (await this.#call("touch", login, touchTimeoutMs(login))).code;
  }

  /**
   * Several Touch logins in one call (TOUCH_BATCH): one body, one token bound to it, and each
   * login settled as its line of the answer arrives (touch-batch-answers.ts), each after its
   * own timeout at the latest. The observer gets one "touch" per login, as for single calls.
   */
  #touchBatch(logins: TouchLogin[]): Array<Promise<TouchCode>> {
    this.#observeLoginsPerCall?.(logins.length);
    const started = performance.now();
    const timeouts = logins.map(touchTimeoutMs);
    const call: BatchCall = {};
    const drop = () => call.stream?.abort(ALL_ANSWERED);
    const answers = new TouchBatchAnswers(timeouts, {
      settled: (_i, outcome) => this.#observe?.("touch", (performance.now() - started) / 1000, outcome),
      allSettled: (everyLineIn) => {
        if (everyLineIn) call.grace = setTimeout(drop, BATCH_END_GRACE_MS);
        else drop();
      },
    });
    void this.#streamBatch(logins, answers, Math.max(...timeouts), call);
    return answers.answers;
  }

  async #streamBatch(logins: TouchLogin[], answers: TouchBatchAnswers, timeoutMs: number, call: BatchCall): Promise<void> {
    const path = `${RELAY_API_BASE}${TOUCH_BATCH.path}`;
    const body = JSON.stringify({ logins } satisfies TouchBatchRequest);
    try {
      const token = this.#token(path, body);
      const stream = streamFromEdge(this.#request(path, token, body, timeoutMs), TOUCH_BATCH.contentType, (line) => answers.line(line));
      call.stream = stream;
      let end: Awaited<EdgeStream["done"]>;
      try {
        end = await stream.done;
      } catch (e) {
        // A cap passed is the edge breaking its promise (refused); anything else is transport.
        if (e instanceof EdgeAnswerTooLargeError) answers.refuse(e.message);
        else answers.failed(transportFailure(e as Error, timeoutMs));
        return;
      }
      if (end.kind === "lines") answers.ended();
      else if (end.answer.status === 404) {
        // An edge older than the batch route did nothing: each login again alone, a token each.
        this.#batcher.sendAloneFor(TOUCH_BATCH_RETRY_MS);
        const left = new Set(answers.unanswered());
        logins.forEach((login, i) => {
          if (left.has(i)) answers.follow(i, this.#touchOne(login));
        });
      } else answers.whole(end.answer.status, end.answer.text);
    } catch (e) {
      // Not the edge's doing (the token could not be signed): never a reason for the fail mode.
      answers.refuse(`the call could not be made: ${(e as Error).message}`);
    } finally {
      clearTimeout(call.grace);
    }
  }

  async #post<T>(
    path: string,
    payload: unknown,
    schema: z.ZodType<T>,
    timeoutMs: number,
    quick: ((json: unknown) => T | undefined) | undefined,
  ): Promise<T> {
    const body = JSON.stringify(payload);
    let status: number;
    let text: string;
    const token = this.#token(path, body);
    try {
      ({ status, text } = await postToEdge(this.#request(path, token, body, timeoutMs)));
    } catch (e) {
      // An answer past its cap is the edge breaking its promise: a refusal, never the fail mode.
      if (e instanceof EdgeAnswerTooLargeError) throw new EdgeRejectedError(`${path}: ${e.message}`);
      // Every other failure to get an answer is transport: connect, TLS, timeout, a dropped connection.
      throw transportFailure(e as Error, timeoutMs);
    }
    const answer = classifyEdgeResponse(status, text, schema, quick);
    if (answer.kind === "ok") return answer.value;
    if (answer.kind === "unavailable") throw new EdgeUnavailableError(answer.reason);
    throw new EdgeRejectedError(`${path}: ${answer.reason}`, answer.error);
  }

  /** The POST of one call: `path` under the edge URL's own path, with its token. */
  #request(path: string, token: string, body: string, timeoutMs: number): EdgeRequest {
    return { dispatcher: this.#pool, origin: this.#origin, path: `${this.#prefix}${path}`, headers: jsonHeaders(token), body, timeoutMs };
  }

  /**
   * A token bound to one call, signed at once on the main thread. Signing on libuv's thread
   * pool instead (node:crypto's callback form) saved the main thread ~20 µs a signature when
   * every login was its own call; with logins batched (~20 per call under load) the hop costs
   * more than it saves: in alternating runs of the relay bench's load, signing at once gave
   * 12,600-13,800 req/s at 68-72 µs of CPU per login against 11,600-12,600 at 73-80 µs
   * (docs/benchmarks.md), and a lone call was already signed at once.
   */
  #token(path: string, body: string): string {
    return this.#signer.mint("POST", path, body);
  }
}

/** How long a Touch login may wait for its answer: the edge blocks up to timeoutSeconds, plus delivery and network. */
function touchTimeoutMs(login: TouchLogin): number {
  return login.timeoutSeconds * 1000 + TOUCH_ANSWER_SLACK_MS;
}

/** A flat name/value list: undici takes it as is, without walking an object's keys. */
function jsonHeaders(token: string): string[] {
  return ["authorization", `Bearer ${token}`, "content-type", "application/json"];
}
