import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { consoleHostFromEnv, hostServes, isConsolePath, requestHostName } from "../../workers/routes/console/host";
import { ADMIN_TOKEN } from "../support/keys";
import { ConsoleBrowser, DEFAULT_OPERATOR } from "./support/console";

/**
 * CONSOLE_HOST (workers/routes/console/host.ts): the admin console on a host of its own, so
 * that the pages anyone can open (/m, /app, /reset) never share its origin. What an attacker
 * who could run a script in a public page would need is the console on that page's origin:
 * with CONSOLE_HOST set, the console is not served there (however the path is spelled), and
 * the console's host serves none of the public pages.
 */
const CONSOLE_HOST = "admin.mfa.example.com";
const PUBLIC = "https://mfa.example.com";
const CONSOLE = `https://${CONSOLE_HOST}`;
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

function get(url: string, overrides: Record<string, string> = { CONSOLE_HOST }, headers: Record<string, string> = {}) {
  return worker.fetch(
    new Request(url, { headers: { "cf-connecting-ip": "10.9.9.9", ...headers }, redirect: "manual" }),
    { ...env, ...overrides } as Env,
    ctx,
  );
}

describe("CONSOLE_HOST: parsing and the rule", () => {
  it("takes a host name (any case, a trailing dot dropped); a URL, a port or anything else is invalid, named in the reason", () => {
    expect(consoleHostFromEnv(undefined)).toEqual({ kind: "any" });
    expect(consoleHostFromEnv("  ")).toEqual({ kind: "any" });
    expect(consoleHostFromEnv("Admin.MFA.example.com")).toEqual({ kind: "only", host: "admin.mfa.example.com" });
    expect(consoleHostFromEnv("admin.mfa.example.com.")).toEqual({ kind: "only", host: "admin.mfa.example.com" });
    expect(consoleHostFromEnv("admin.localhost")).toEqual({ kind: "only", host: "admin.localhost" });
    // A port would separate nothing: browsers send a host's cookies to every port of it.
    for (const bad of [
      "https://admin.example.com",
      "admin.example.com:443",
      "localhost:8788",
      "admin.example.com:",
      "admin.example.com/admin",
      "admin example.com",
      "-admin.example.com",
      "admin..example.com",
    ]) {
      const rule = consoleHostFromEnv(bad);
      expect(rule.kind, bad).toBe("invalid");
      if (rule.kind === "invalid") expect(rule.reason).toContain("CONSOLE_HOST");
    }
  });

  it("a request's host name is keyed as cookies are: no port, any case, no trailing dot", () => {
    expect(requestHostName("https://ADMIN.mfa.example.com./admin/")).toBe("admin.mfa.example.com");
    expect(requestHostName("https://admin.mfa.example.com:8443/app/")).toBe("admin.mfa.example.com");
    expect(requestHostName("http://127.0.0.1:8787/")).toBe("127.0.0.1");
  });

  it("the console is /admin and below, the admin API excepted", () => {
    for (const p of ["/admin", "/admin/", "/admin/login", "/admin/assets/console.css", "/admin/v1x"])
      expect(isConsolePath(p), p).toBe(true);
    for (const p of ["/admin/v1", "/admin/v1/endpoints", "/adminx", "/m/abc", "/", "/app/"]) expect(isConsolePath(p), p).toBe(false);
  });

  it("set: the console only on its host, and its host only the console, the admin API and /healthz", () => {
    const rule = consoleHostFromEnv(CONSOLE_HOST);
    expect(hostServes(rule, CONSOLE_HOST, "/admin/login")).toBe(true);
    expect(hostServes(rule, requestHostName("https://ADMIN.mfa.example.com:8443/admin/"), "/admin/")).toBe(true);
    expect(hostServes(rule, CONSOLE_HOST, "/admin/v1/endpoints")).toBe(true);
    expect(hostServes(rule, CONSOLE_HOST, "/healthz")).toBe(true);
    for (const p of ["/m/abc", "/app/", "/reset", "/api/sfwa/auth", "/openapi.json", "/assets/app.css", "/"])
      expect(hostServes(rule, CONSOLE_HOST, p), p).toBe(false);
    expect(hostServes(rule, "mfa.example.com", "/admin/login")).toBe(false);
    expect(hostServes(rule, "mfa.example.com.evil.test", "/admin/login")).toBe(false);
    expect(hostServes(rule, "mfa.example.com", "/admin/v1/endpoints")).toBe(true);
    expect(hostServes(rule, "mfa.example.com", "/m/abc")).toBe(true);
  });

  it("unset: every host serves everything; invalid: the console nowhere, the rest everywhere", () => {
    const any = consoleHostFromEnv("");
    expect(hostServes(any, "mfa.example.com", "/admin/login")).toBe(true);
    const invalid = consoleHostFromEnv("https://admin.example.com");
    expect(hostServes(invalid, "admin.example.com", "/admin/login")).toBe(false);
    expect(hostServes(invalid, "mfa.example.com", "/admin/login")).toBe(false);
    expect(hostServes(invalid, "mfa.example.com", "/m/abc")).toBe(true);
    expect(hostServes(invalid, "mfa.example.com", "/admin/v1/endpoints")).toBe(true);
  });
});

describe("CONSOLE_HOST through the Worker", () => {
  it("an operator signs in and works on the console host; the session's cookie is for that host only", async () => {
    const b = new ConsoleBrowser({ CONSOLE_HOST }, CONSOLE);
    const signIn = await b.signIn(DEFAULT_OPERATOR.name, DEFAULT_OPERATOR.secret);
    expect(signIn.status).toBe(303);
    expect(signIn.location).toBe("/admin/");
    const page = await b.get("/admin/endpoints");
    expect(page.status).toBe(200);
    expect(page.html).toContain("Endpoints");
    // __Host- cookies carry no Domain: a browser sends them to this host only.
    for (const line of signIn.headers.getSetCookie()) {
      expect(line).toMatch(/^__Host-/);
      expect(line.toLowerCase()).not.toContain("domain=");
    }
  });

  it("the console is not served on the public host, however the path is spelled", async () => {
    for (const path of [
      "/admin",
      "/admin/",
      "/admin/login",
      "/admin/endpoints",
      "/admin/assets/console.css",
      "/%61dmin/login",
      "/admin/%6cogin",
    ]) {
      const res = await get(`${PUBLIC}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain("_csrf");
      // A refusal still carries every response's headers (no framing, no scripts).
      expect(res.headers.get("content-security-policy"), path).toContain("default-src 'none'");
    }
    // Without CONSOLE_HOST the same host serves it (the check above fails on the setting alone).
    expect((await get(`${PUBLIC}/admin/login`, {})).status).toBe(200);
  });

  it("the console's host name serves none of the public pages or APIs, on any port or spelling of it", async () => {
    for (const origin of [CONSOLE, `${CONSOLE}:8443`, `https://${CONSOLE_HOST}.`, "https://ADMIN.mfa.example.com:2053"])
      for (const path of ["/app/", "/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/assets/app.css"])
        expect((await get(`${origin}${path}`)).status, `${origin}${path}`).toBe(404);
    for (const path of [
      "/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "/app/",
      "/reset",
      "/api/sfwa/auth?msisdn=%2B46701234567",
      "/openapi.json",
      "/assets/app.css",
      "/",
    ]) {
      const res = await get(`${CONSOLE}${path}`);
      expect(res.status, path).toBe(404);
    }
    expect((await get(`${CONSOLE}/healthz`)).status).toBe(200);
    // The public host still serves them.
    expect((await get(`${PUBLIC}/app/`)).status).toBe(200);
    expect((await get(`${PUBLIC}/healthz`)).status).toBe(200);
  });

  it("the admin API (bearer tokens, no cookies) answers on both hosts", async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await get(`${PUBLIC}/admin/v1/endpoints`, { CONSOLE_HOST }, auth)).status).toBe(200);
    expect((await get(`${CONSOLE}/admin/v1/endpoints`, { CONSOLE_HOST }, auth)).status).toBe(200);
  });

  it("a malformed CONSOLE_HOST keeps the console closed on every host, and the service runs on", async () => {
    const bad = { CONSOLE_HOST: `https://${CONSOLE_HOST}` };
    expect((await get(`${CONSOLE}/admin/login`, bad)).status).toBe(404);
    expect((await get(`${PUBLIC}/admin/login`, bad)).status).toBe(404);
    expect((await get(`${PUBLIC}/app/`, bad)).status).toBe(200);
  });
});
