import { readFileSync } from "node:fs";
import { importJWK, importPKCS8, type CryptoKey as JoseKey, type KeyObject } from "jose";
import { Agent } from "undici";
import type { z } from "zod";
import { TOUCH_ANSWER_SLACK_MS, type ResultCode } from "../../core/contracts/relay.ts";
import {
  RELAY_API_BASE,
  RELAY_CALLS,
  type WhoSchema,
  type OtpVerdict,
  type RelayAnswer,
  type RelayCallName,
  type RelayRequest,
} from "../../core/contracts/relay-api.ts";
import { postToEdge } from "./edge-http.ts";
import { classifyEdgeResponse, quickTouchAnswer } from "./edge-response.ts";
import { RelayTokenSigner } from "./relay-token-signer.ts";

/** The edge could not be asked (transport failure, timeout) or said it is unavailable: fail mode applies. */
export class EdgeUnavailableError extends Error {
  override name = "EdgeUnavailableError";
}
/**
 * The edge answered, but not with a usable yes/no: a refusal (any non-2xx but the explicit
 * "unavailable"), or a body that is not what the API promises. Always rejects the login.
 * `code`: the edge's machine-readable reason, when it gave one (e.g. "number_changed").
 */
export class EdgeRejectedError extends Error {
  override name = "EdgeRejectedError";
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

export type TouchCode = ResultCode;

/** How each call went (for metrics): unavailable lets the fail mode apply, refused never does. */
export type EdgeCallOutcome = "ok" | "unavailable" | "refused";
export type EdgeCallObserver = (call: RelayCallName, seconds: number, outcome: EdgeCallOutcome) => void;
export type { OtpVerdict };

/** Who is logging in: the normalised username (the edge's pin key) and the number that should prove it. */
export type Who = z.input<typeof WhoSchema>;

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

  constructor(opts: { url: string; relayName: string; key: JoseKey | KeyObject; timeoutMs: number; observe?: EdgeCallObserver }) {
    this.#observe = opts.observe;
    const url = new URL(opts.url);
    this.#origin = url.origin;
    this.#prefix = url.pathname.replace(/\/$/, "");
    this.#signer = new RelayTokenSigner(opts.key, opts.relayName, url.origin);
    this.#timeoutMs = opts.timeoutMs;
  }

  async touch(who: Who, timeoutSeconds: number): Promise<TouchCode> {
    // The edge blocks for up to timeoutSeconds; allow for delivery and network on top.
    return (await this.#call("touch", { ...who, timeoutSeconds }, timeoutSeconds * 1000 + TOUCH_ANSWER_SLACK_MS)).code;
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

  async #post<T>(
    path: string,
    payload: unknown,
    schema: z.ZodType<T>,
    timeoutMs: number,
    quick: ((json: unknown) => T | undefined) | undefined,
  ): Promise<T> {
    const body = JSON.stringify(payload);
    const token = await this.#signer.mintOffThread("POST", path, body);
    let status: number;
    let text: string;
    try {
      // A flat name/value list: undici takes it as is, without walking an object's keys.
      const headers = ["authorization", `Bearer ${token}`, "content-type", "application/json"];
      ({ status, text } = await postToEdge(this.#pool, this.#origin, `${this.#prefix}${path}`, headers, body, timeoutMs));
    } catch (e) {
      // Every failure to get an answer is transport: connect, TLS, timeout, a dropped connection.
      const err = e as Error;
      const timedOut = err.name === "TimeoutError" || err.name === "AbortError" || /timeout/i.test(err.name);
      throw new EdgeUnavailableError(timedOut ? `edge timed out after ${timeoutMs} ms` : `edge unreachable: ${err.message}`);
    }
    const answer = classifyEdgeResponse(status, text, schema, quick);
    if (answer.kind === "ok") return answer.value;
    if (answer.kind === "unavailable") throw new EdgeUnavailableError(answer.reason);
    throw new EdgeRejectedError(`${path}: ${answer.reason}`, answer.error);
  }
}
