import { openLinkToken } from "../../../core/link-route";
import { linkKey } from "../../../workers/store/link-key";
import { env, exports } from "cloudflare:workers";
import { sha256Hex } from "../../../core/tokens";
import { KEYS } from "../../support/keys";
import { LINK_PATTERN } from "../../support/magic-link-user";
import type { RecordedRequest } from "../../../harness/recorded-request";

export { KEYS };

/**
 * A fresh random number per test (test files run in parallel), so rate limits and gateway
 * records never collide. A suffix picks the fake gateway's behaviour (see fake-sms-gateway).
 */
export function freshMsisdn(suffix = "9999"): string {
  const digits = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b % 10).join("");
  return `+467${digits}${suffix}`;
}

/**
 * What `read` returns once it settles at `expected`, or its last value after `timeoutMs`.
 * A finished session releases its Subscriber entry and overload lease in the background, after
 * the caller has its answer (slots are freed off the answer path), so a read right after the
 * answer may still see them.
 */
export async function settlesAt<T>(read: () => Promise<T>, expected: T, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (value !== expected && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    value = await read();
  }
  return value;
}

/** The number's pending count once it settles at `expected` (see settlesAt). */
export function pendingSettlesAt(msisdn: string, expected: number): Promise<number> {
  return settlesAt(() => env.SUBSCRIBER.getByName(msisdn).pendingCount(), expected);
}

export interface CallOptions {
  endpoint?: string;
  key?: string | null;
  params?: Record<string, string>;
  env?: Partial<Env>;
}

/**
 * The test env with `overrides`, one object per overrides object: calls made with the same
 * overrides share it, as every request of one isolate shares its env (what the isolate keeps
 * per env, such as the lease releases queued for its next lease, is then shared too).
 */
const envs = new WeakMap<object, Env>();
export function envWith(overrides: Partial<Env>): Env {
  let e = envs.get(overrides);
  if (!e) {
    e = { ...env, ...overrides } as Env;
    envs.set(overrides, e);
  }
  return e;
}

/** Calls the Magic Link API through the Worker's default export, as a client would. */
export async function callAuth(msisdn: string, opts: CallOptions = {}): Promise<Response> {
  const url = new URL(`https://mfa.example.com/api/sfwa/auth${opts.endpoint ? `/${opts.endpoint}` : ""}`);
  url.searchParams.set("msisdn", msisdn);
  for (const [k, v] of Object.entries(opts.params ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = {};
  const key = opts.key === undefined ? KEYS.default : opts.key;
  if (key !== null) headers["api-key"] = key;
  const req = new Request(url, { headers });
  if (opts.env) {
    const worker = (await import("../../../workers/index")).default;
    return worker.fetch(req, envWith(opts.env), {
      waitUntil() {},
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext);
  }
  return exports.default.fetch(req);
}

/** The result code of a Magic Link API response (the body is always exactly `{"code":"…"}`). */
export async function codeOf(res: Response | Promise<Response>): Promise<string> {
  return ((await (await res).json()) as { code: string }).code;
}

/** Messages the fake gateway received for a number. */
export async function gatewayRequests(to: string): Promise<RecordedRequest[]> {
  const res = await fetch(`${env.TEST_GATEWAY_URL}/_requests?to=${encodeURIComponent(to)}`);
  return (await res.json()) as RecordedRequest[];
}

/**
 * Waits for the SMS to a number and returns the magic link in it. `after`: how many SMS to
 * that number to skip (to wait for a new one when earlier ones exist).
 */
export async function waitForLink(to: string, timeoutMs = 10_000, after = 0): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    // The newest SMS with a link (an app activation code, say, may have come after it).
    const links = (await gatewayRequests(to)).slice(after).map((r) => r.text?.match(LINK_PATTERN)?.[0]);
    const link = links.filter(Boolean).at(-1);
    if (link) return link;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no SMS with a link reached ${to} within ${timeoutMs} ms`);
}

/** Opens the approval page like a browser and returns its CSRF token and HTML. */
export async function openLink(link: string): Promise<{ res: Response; html: string; csrf: string | null }> {
  const res = await exports.default.fetch(new Request(link));
  const html = await res.text();
  const csrf = html.match(/name="csrf" value="([^"]+)"/)?.[1] ?? null;
  return { res, html, csrf };
}

/** Submits the approval form from the page's own origin, as the browser does. */
export async function answer(link: string, decision: "accept" | "reject", csrf: string, origin?: string): Promise<Response> {
  return exports.default.fetch(
    new Request(link, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: origin ?? new URL(link).origin },
      body: new URLSearchParams({ decision, csrf }),
    }),
  );
}

/**
 * The AuthSession object behind a link of a session in an object of its own (Assisted Login):
 * it is named by the SHA-256 of the link's token. Other sessions: sessionPlace.
 */
export async function sessionStub(link: string) {
  return env.AUTH_SESSION.getByName(await sha256Hex(link.split("/m/")[1] ?? ""));
}

/**
 * Where the session behind a link is kept (docs/decisions/0022): the number's Subscriber its
 * token routes to, with the session's state key there; or, for a session in an object of its
 * own, that AuthSession object (its state under "session").
 */
export async function sessionPlace(link: string) {
  const token = link.split("/m/")[1] ?? "";
  const name = await sha256Hex(token);
  const host = await openLinkToken(await linkKey(env.DB), token);
  if (host === null) return { host, name, stub: env.AUTH_SESSION.getByName(name), stateKey: "session" };
  return { host, name, stub: env.SUBSCRIBER.getByName(host), stateKey: `s:${name}:session` };
}
