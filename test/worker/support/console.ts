import { env } from "cloudflare:workers";
import worker from "../../../workers/index";
import { ADMIN_TOKEN } from "../../support/keys";
import { sha256Hex } from "../../../core/tokens";

/**
 * An operator's browser for the admin console in worker tests: a cookie jar, the headers a
 * same-origin form post carries, and the CSRF token read from the last page (as a browser
 * would submit it). Requests go through the Worker's fetch with `envOverrides` (e.g. ADMIN_TOKENS,
 * Access settings) on top of the test bindings.
 */
export const ORIGIN = "https://mfa.example.com";
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

/** The test bindings' one admin token is named "default" (ADMIN_TOKEN_SHA256). */
export const DEFAULT_OPERATOR = { name: "default", secret: ADMIN_TOKEN };

export interface Page {
  status: number;
  headers: Headers;
  html: string;
  location: string | null;
}

export class ConsoleBrowser {
  readonly cookies = new Map<string, string>();
  /** A unique client address per browser, so the per-address sign-in limit of one test does not reach another. */
  ip = `10.${rnd()}.${rnd()}.${rnd()}`;
  lastHtml = "";
  /** Who signedIn() signed in as. */
  operator = DEFAULT_OPERATOR.name;
  /** `origin`: where the console is opened (CONSOLE_HOST tests open it on a host of its own). */
  constructor(
    readonly envOverrides: Partial<Record<string, string>> = {},
    readonly origin = ORIGIN,
  ) {}

  get env(): Env {
    return { ...env, ...this.envOverrides } as Env;
  }

  async request(
    method: string,
    path: string,
    opts: { form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    const headers: Record<string, string> = { "cf-connecting-ip": this.ip, ...this.cookieHeader() };
    if (method !== "GET") Object.assign(headers, { origin: this.origin, "sec-fetch-site": "same-origin" });
    let body: string | undefined;
    if (opts.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(opts.form).toString();
    }
    Object.assign(headers, opts.headers ?? {});
    for (const [k, v] of Object.entries(headers)) if (v === "") delete headers[k];
    const res = await worker.fetch(new Request(`${this.origin}${path}`, { method, headers, body, redirect: "manual" }), this.env, ctx);
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const html = await res.text();
    if (res.headers.get("content-type")?.includes("text/html")) this.lastHtml = html;
    return { status: res.status, headers: res.headers, html, location: res.headers.get("location") };
  }

  get = (path: string, headers?: Record<string, string>) => this.request("GET", path, { headers });

  /** Posts a form with the CSRF token of the last page shown (unless the form sets _csrf itself). */
  post(path: string, form: Record<string, string> = {}, headers?: Record<string, string>): Promise<Page> {
    return this.request("POST", path, { form: { _csrf: this.csrfToken(), ...form }, headers });
  }

  csrfToken(): string {
    return this.lastHtml.match(/name="_csrf" value="([^"]*)"/)?.[1] ?? "";
  }

  cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") };
  }

  /** Opens the sign-in page and signs in; the response of the form post. */
  async signIn(name = DEFAULT_OPERATOR.name, secret = DEFAULT_OPERATOR.secret): Promise<Page> {
    await this.get("/admin/login");
    return this.post("/admin/login", { name, secret });
  }
}

function rnd(): number {
  return Math.floor(Math.random() * 250) + 1;
}

/**
 * A browser signed in as a fresh operator of its own (ADMIN_TOKENS), so the per-name sign-in
 * limit of one test never reaches another; throws if sign-in fails.
 */
export async function signedIn(envOverrides: Partial<Record<string, string>> = {}): Promise<ConsoleBrowser> {
  const operator = `op-${crypto.randomUUID().slice(0, 8)}`;
  const secret = `secret-${crypto.randomUUID()}`;
  const tokens = JSON.stringify([{ name: operator, sha256: await sha256Hex(secret) }]);
  const b = new ConsoleBrowser({ ADMIN_TOKENS: tokens, ...envOverrides });
  b.operator = operator;
  const res = await b.signIn(operator, secret);
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status} ${res.html.slice(0, 200)}`);
  await b.get("/admin/endpoints");
  return b;
}
