import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { APP_API_BASE, APP_API_PATHS } from "../../core/contracts/app-api-paths";
import { RELAY_API_BASE, RELAY_CALLS } from "../../core/contracts/relay-api";

/**
 * workers/app.ts mounts each sub-app at its prefix and attaches middleware to the mount or the
 * sub-app: the app's script-allowing CSP on /app and below only, the 4 KB body cap on the link
 * pages only, each API's own guard on its whole prefix.
 */
const BASE = "https://mfa.example.com";
const fetchPath = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(new Request(`${BASE}${path}`, { redirect: "manual", ...init }));
const scriptAllowed = (res: Response) => (res.headers.get("content-security-policy") ?? "").includes("script-src 'self'");

describe("URL map", () => {
  it("the app's CSP covers /app, its files and its API; every other mount gets the page CSP", async () => {
    for (const path of ["/app", "/app/", "/app/app.js", "/app/nope", `${APP_API_BASE}/nope`]) {
      expect(scriptAllowed(await fetchPath(path)), path).toBe(true);
    }
    for (const path of ["/healthz", "/m/x", "/api/sfwa/auth", "/admin/v1/endpoints", `${RELAY_API_BASE}/touch`, "/appx", "/nope"]) {
      const res = await fetchPath(path);
      expect(res.headers.get("content-security-policy"), path).toContain("default-src 'none'");
      expect(scriptAllowed(res), path).toBe(false);
    }
  });

  it("the API, link, app and reset mounts send the same security headers; no mount sends hono's legacy defaults", async () => {
    const legacy = [
      "x-xss-protection",
      "x-download-options",
      "x-dns-prefetch-control",
      "x-permitted-cross-domain-policies",
      "origin-agent-cluster",
    ];
    for (const path of [
      "/app/",
      `${APP_API_BASE}/nope`,
      "/healthz",
      "/m/x",
      "/api/sfwa/auth",
      "/admin/v1/endpoints",
      `${RELAY_API_BASE}/touch`,
      "/reset",
      "/nope",
    ]) {
      const h = (await fetchPath(path)).headers;
      expect(h.get("referrer-policy"), path).toBe("no-referrer");
      expect(h.get("x-frame-options"), path).toBe("DENY");
      expect(h.get("x-content-type-options"), path).toBe("nosniff");
      expect(h.get("strict-transport-security"), path).toBe("max-age=31536000; includeSubDomains");
      expect(h.get("cross-origin-opener-policy"), path).toBe("same-origin");
      expect(h.get("cross-origin-resource-policy"), path).toBe("same-origin");
      for (const name of legacy) expect(h.get(name), `${path} ${name}`).toBeNull();
    }
    // The admin console keeps same-origin referrers (security-headers.ts), and no legacy header either.
    const admin = (await fetchPath("/admin/")).headers;
    expect(admin.get("referrer-policy")).toBe("same-origin");
    for (const name of legacy) expect(admin.get(name), `/admin/ ${name}`).toBeNull();
  });

  it("every page starts with a doctype, so that browsers lay it out in standards mode", async () => {
    const pages = ["/m/x", "/app/", "/admin/login", "/reset/x"];
    for (const path of pages) {
      const res = await fetchPath(path);
      expect(`${res.status} ${res.headers.get("content-type")}`, path).toMatch(/text\/html/);
      expect((await res.text()).slice(0, 40), path).toMatch(/^<!doctype html><html lang="en"><head>/);
    }
  });

  it("the 4 KB body cap applies to the link pages, not to the app API", async () => {
    const form = { "content-type": "application/x-www-form-urlencoded", origin: BASE };
    const link = await fetchPath(`/m/${"A".repeat(43)}`, { method: "POST", body: `csrf=${"x".repeat(5000)}`, headers: form });
    expect(link.status).toBe(413);
    expect(await link.json()).toEqual({ error: "request body too large" });
    const appCall = await fetchPath(`${APP_API_BASE}${APP_API_PATHS.activate}`, {
      method: "POST",
      body: JSON.stringify({ pad: "x".repeat(5000) }),
      headers: { "content-type": "application/json" },
    });
    expect(appCall.status).toBe(400);
    expect(await appCall.json()).toEqual({ error: "invalid_request" });
  });

  it("the relay token check guards every relay API call, and the admin check its whole prefix", async () => {
    for (const call of Object.values(RELAY_CALLS)) {
      const res = await fetchPath(`${RELAY_API_BASE}${call.path}`, {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
      });
      expect(res.status, call.path).toBe(401);
    }
    // The guard covers the whole prefix, unknown paths included.
    expect((await fetchPath(RELAY_API_BASE)).status).toBe(401);
    expect((await fetchPath("/admin/v1")).status).toBe(401);
  });
});
