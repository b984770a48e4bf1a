import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { app } from "../../../workers/app";

/**
 * Every route of the app fits hono's RegExpRouter (all routes matched by one regular
 * expression). hono's SmartRouter falls back to the TrieRouter, a tree walk per request, as
 * soon as one route does not fit (a static path registered before a parameter at the same
 * place, e.g. /admin/endpoints/new before /admin/endpoints/:name): every request would pay.
 */
describe("app router", () => {
  it("each route can be added to a RegExpRouter", () => {
    const router = new RegExpRouter<string>();
    for (const route of app.routes) {
      expect(() => router.add(route.method, route.path, route.path), `${route.method} ${route.path}`).not.toThrow();
    }
    expect(() => router.match("GET", "/healthz")).not.toThrow();
  });

  it("the app picks the RegExpRouter on its first request", async () => {
    await app.request("/healthz", {}, env);
    expect((app as unknown as { router: { name: string } }).router.name).toBe("SmartRouter + RegExpRouter");
  });
});
