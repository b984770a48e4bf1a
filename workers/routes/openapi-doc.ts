import { type OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { jsonResponse, serve } from "./openapi-route";
import { SECURITY_SCHEMES } from "./openapi-common";
import { issueList } from "./validate";
import { publicBaseUrl } from "./respond";

type Root = OpenAPIHono<{ Bindings: Env }>;

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Service"],
  summary: "Liveness, for uptime checks",
  responses: { 200: jsonResponse(z.object({ ok: z.literal(true) }), "The Worker answers.") },
});

const documentRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  tags: ["Service"],
  summary: "This document (OpenAPI 3.1)",
  responses: {
    200: jsonResponse(z.object({ openapi: z.string() }).catchall(z.unknown()), "The OpenAPI 3.1 document of every public API."),
  },
});

export const OPENAPI_INFO = {
  title: "Edge MFA",
  version: "1",
  description:
    "Mideye-compatible Magic Link and RADIUS MFA on Cloudflare Workers. Generated from the zod schemas the routes validate with " +
    "(docs/api.md). Served at GET /openapi.json; with `npm run dev`, browse it at /dev/api.",
};

/**
 * The service's own routes (/healthz, /openapi.json) and the document's security schemes, on
 * the root app. The document is generated on first request, from every route registered on
 * the root app or on an OpenAPIHono sub-app mounted on it (OpenAPIHono.route copies a
 * sub-app's registry when it is mounted): a new API appears by being mounted.
 */
export function documentService(app: Root): void {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  let generated: ReturnType<Root["getOpenAPI31Document"]> | undefined;
  serve(app, healthRoute, issueList, (c) => c.json({ ok: true as const }, 200));
  serve(app, documentRoute, issueList, (c) => {
    generated ??= app.getOpenAPI31Document({ openapi: "3.1.0", info: OPENAPI_INFO });
    c.header("cache-control", "public, max-age=300");
    return c.json({ ...generated, servers: [{ url: publicBaseUrl(c) }] }, 200);
  });
}
