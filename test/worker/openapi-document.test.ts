import { Validator, type Schema } from "@cfworker/json-schema";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../workers/app";
import { ADMIN_TOKEN, KEYS } from "../support/keys";
import { METHODS, type OpenApiDoc, type Operation, fetchDocument, responseSchema } from "./support/openapi-conformance";

/**
 * Routes the app serves that are not a public API, by prefix, and why. Every other route must
 * be in the document, so a new API is either documented or listed here on purpose.
 */
const NOT_AN_API: [prefix: string, why: string][] = [
  ["/assets/", "the link pages' stylesheet and the reset page's script"],
  ["/m/", "the SMS link pages, in the user's browser"],
  ["/reset", "the password reset portal's pages"],
  ["/app/api/", "the authenticator app's device API: spoken only by our own app (client/), its contract is core/contracts/app-api.ts"],
  ["/app", "the authenticator app's shell and files"],
  ["/dev/", "DEMO_MODE only: the dev outbox and the API reference page"],
  ["/admin/", "the admin console's pages (the admin API, /admin/v1, is documented)"],
];
const isApi = (path: string) =>
  path.startsWith("/admin/v1/") || !NOT_AN_API.some(([prefix]) => path === prefix.replace(/\/$/, "") || path.startsWith(prefix));

/** "GET /admin/v1/endpoints/{name}" for every route handler the hono app has (middleware excluded). */
function servedApiRoutes(): Set<string> {
  const served = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || !isApi(r.path)) continue;
    served.add(`${r.method} ${r.path.replace(/:([^/{}?]+)/g, "{$1}")}`);
  }
  return served;
}

function operations(doc: OpenApiDoc): [string, string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => [path, m, item[m] as Operation] as [string, string, Operation]),
  );
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document: info, paths, components, and every operation with responses", async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(Object.keys(doc.paths).length).toBeGreaterThan(20);
    for (const [path, method, op] of operations(doc)) {
      expect(path, "paths start with /").toMatch(/^\//);
      const statuses = Object.keys(op.responses);
      expect(statuses.length, `${method} ${path} has responses`).toBeGreaterThan(0);
      expect(
        statuses.some((s) => /^[12]\d\d$/.test(s)),
        `${method} ${path} has a success response`,
      ).toBe(true);
      for (const [status, response] of Object.entries(op.responses)) {
        expect(status, `${method} ${path}`).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
        expect(response.description, `${method} ${path} ${status} has a description`).toBeTruthy();
      }
      // Every {param} of the path is declared as a required path parameter, and no other.
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === "path");
      expect(declared.map((p) => p.name).sort(), `${method} ${path} path parameters`).toEqual(inPath);
      expect(declared.every((p) => p.required)).toBe(true);
    }
  });

  it("names the security each API needs, and each scheme it names is defined", async () => {
    const doc = await fetchDocument();
    const schemes = doc.components.securitySchemes ?? {};
    expect(Object.keys(schemes).sort()).toEqual(["adminToken", "apiKey", "relayToken"]);
    expect(schemes.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "api-key" });
    expect(schemes.adminToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(schemes.relayToken).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    const expected = (path: string) =>
      path.startsWith("/api/sfwa/") || path.startsWith("/api/offline/")
        ? "apiKey"
        : path.startsWith("/api/relay/")
          ? "relayToken"
          : path.startsWith("/admin/v1/")
            ? "adminToken"
            : null;
    for (const [path, method, op] of operations(doc)) {
      const names = (op.security ?? []).flatMap((s) => Object.keys(s));
      for (const name of names) expect(schemes, `${method} ${path}: scheme ${name}`).toHaveProperty(name);
      const scheme = expected(path);
      if (scheme) expect(names, `${method} ${path}`).toEqual([scheme]);
      // An unknown API (say, /api/v2) must still say how it is authenticated, if at all.
      else if (path !== "/healthz" && path !== "/openapi.json")
        expect(op.security, `${method} ${path} declares its security`).toBeDefined();
    }
  });

  it("every schema in it compiles as JSON Schema 2020-12, and every $ref resolves", async () => {
    const doc = await fetchDocument();
    for (const [path, method, op] of operations(doc)) {
      const schemas: Schema[] = [
        ...Object.values(op.requestBody?.content ?? {}).map((m) => m.schema),
        ...Object.values(op.responses).flatMap((r) => Object.values(r.content ?? {}).map((m) => m.schema)),
      ];
      for (const schema of schemas) expect(() => new Validator(responseSchema(doc, schema), "2020-12"), `${method} ${path}`).not.toThrow();
    }
  });

  it("documents every API route the app serves, and nothing it does not serve", async () => {
    const doc = await fetchDocument();
    const documented = new Set(operations(doc).map(([path, method]) => `${method.toUpperCase()} ${path}`));
    const served = servedApiRoutes();
    expect(
      [...served].filter((r) => !documented.has(r)),
      "served but not documented",
    ).toEqual([]);
    expect(
      [...documented].filter((r) => !served.has(r)),
      "documented but not served",
    ).toEqual([]);
    // The four APIs of the brief are there (not just whatever happens to be mounted).
    for (const r of [
      "GET /api/sfwa/auth",
      "GET /api/sfwa/auth/{endpoint}",
      "POST /api/offline/totp/{endpoint}",
      "POST /api/relay/v1/touch",
      "GET /api/relay/v1/link",
      "GET /admin/v1/audit",
    ])
      expect(documented, r).toContain(r);
  });

  it("holds no internal paths and no secrets", async () => {
    const doc = await fetchDocument();
    for (const path of Object.keys(doc.paths)) expect(isApi(path), `${path} is a public API`).toBe(true);
    const text = JSON.stringify(doc);
    for (const secret of [...Object.values(KEYS), ADMIN_TOKEN]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/[0-9a-f]{64}/); // no key hashes
  });

  it("the API reference page (/dev/api) exists only in DEMO_MODE; the document is public", async () => {
    const page = await exports.default.fetch(new Request("https://mfa.example.com/dev/api"));
    expect(page.status).toBe(404);
    const start = await exports.default.fetch(new Request("https://mfa.example.com/dev/api/start.js"));
    expect(start.status).toBe(404);
    const doc = await exports.default.fetch(new Request("https://mfa.example.com/openapi.json"));
    expect(doc.status).toBe(200);
    expect(doc.headers.get("content-type")).toMatch(/^application\/json/);
  });
});
