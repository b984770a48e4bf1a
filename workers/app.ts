import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "./config/load";
import { demoModeProblems } from "./config/demo-guard";
import { APP_CSS } from "./pages/layout";
import { adminApi } from "./routes/admin-api";
import { adminConsole } from "./routes/console";
import { type ConsoleHost, consoleHostFromEnv, hostServes, isConsolePath, requestHostName } from "./routes/console/host";
import { approval } from "./routes/approval";
import { asyncApi } from "./routes/async-api";
import { authApi } from "./routes/auth-api";
import { dev } from "./routes/dev";
import { documentService } from "./routes/openapi-doc";
import { relayApi } from "./routes/relay-api";
import { authenticatorApp } from "./routes/app";
import { appApi } from "./routes/app-api";
import { offlineApi } from "./routes/offline-api";
import { bodyCap } from "./routes/body-limit";
import { appHeaders, noStoreByDefault, pageHeaders, resetHeaders } from "./routes/security-headers";
import { resetPortal } from "./routes/reset";
import { relayAskFor } from "./domain/reset-relay";
import { RESET_JS } from "./generated/client-assets";
import { log } from "./lib/log";
import { redactPath } from "../core/redact";
import { APP_API_BASE } from "../core/contracts/app-api-paths";
import { RELAY_API_BASE } from "../core/contracts/relay-api";
import { ADMIN_API_BASE } from "../core/contracts/admin-api";
import { ASYNC_API_BASE } from "../core/contracts/async-auth";

// OpenAPIHono: every OpenAPIHono sub-app mounted below is in the document at /openapi.json.
export const app = new OpenAPIHono<{ Bindings: Env }>();

// DEMO_MODE only on a developer's machine: anything else fails every request, loudly.
app.use(async (c, next) => {
  const problems = demoModeProblems(c.env, c.req.url);
  if (problems.length === 0) return next();
  log.error("config_error", { error: "DEMO_MODE refused", problems });
  return c.json({ error: "service misconfigured: DEMO_MODE is only allowed on a local development machine" }, 500);
});

// Every response: security headers, nothing cached unless a route says so.
app.use(pageHeaders);
app.use("/app/*", appHeaders); // /app and below (app API included): the app's script-allowing CSP
app.use("/reset", resetHeaders); // the reset pages: one same-origin script
app.use("/reset/*", resetHeaders);
app.use(noStoreByDefault);
// CONSOLE_HOST: the admin console only on its own host, and that host nothing else (host.ts).
// Every request passes here: the setting is parsed once per value, the URL only when a host is set.
let consoleHost: { value: string | undefined; rule: ConsoleHost } | undefined;
app.use(async (c, next) => {
  if (!consoleHost || consoleHost.value !== c.env.CONSOLE_HOST)
    consoleHost = { value: c.env.CONSOLE_HOST, rule: consoleHostFromEnv(c.env.CONSOLE_HOST) };
  const { rule } = consoleHost;
  if (rule.kind === "invalid" && isConsolePath(c.req.path)) log.error("config_error", { error: rule.reason });
  const hostName = rule.kind === "only" ? requestHostName(c.req.url) : "";
  return hostServes(rule, hostName, c.req.path) ? next() : c.notFound();
});
// Nothing we accept is large: cap bodies before anything parses them (the link pages cap lower).
app.use(bodyCap(64 * 1024));

// The URL map. Each sub-app declares its paths relative to its prefix; the comment says who calls it.
documentService(app); // /healthz (uptime checks) and /openapi.json (integrators: every documented API below)
app.get("/assets/app.css", (c) => {
  // the link pages' stylesheet, in the browser
  c.header("cache-control", "public, max-age=3600");
  return c.body(APP_CSS, 200, { "content-type": "text/css; charset=utf-8" });
});
app.get("/assets/reset.js", (c) =>
  // the reset page's encryption script (client/reset.ts), in the browser
  c.body(RESET_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }),
);
app.route("/api/sfwa", authApi); // Mideye Magic Link clients (VPNs, portals): the blocking auth call, API key
app.route(ASYNC_API_BASE, asyncApi); // /api/v2: the async Magic Link API (202 + id, long-poll, webhooks), API key
app.route("/api/offline", offlineApi); // customers' own RADIUS servers: offline-code checks, API key
app.route(RELAY_API_BASE, relayApi); // /api/relay/v1: the on-prem RADIUS relay (relay/src/edge-client.ts), ES256 JWT
app.route("/m", approval); // the SMS link, in the user's (or approver's) browser
app.route("/reset", resetPortal(relayAskFor)); // the password reset portal, in the user's browser (relay questions over the relay link)
app.route(APP_API_BASE, appApi); // /app/api: the authenticator app (client/api.ts), device-signed JSON
app.route("/app/", authenticatorApp); // the authenticator app's shell and files, in the browser (its scope is /app/)
app.get("/app", (c) => c.redirect("/app/", 301)); // outside that scope: into it
app.route(ADMIN_API_BASE, adminApi); // /admin/v1: operators (cli/admin.ts), admin bearer tokens
// The admin web console, in an operator's browser (after the API: it leaves /admin/v1 alone).
// Mounted at "/admin/" so its dashboard ("/") answers /admin/; /admin itself redirects there.
app.get("/admin", (c) => c.redirect("/admin/", 308));
app.route("/admin/", adminConsole);
app.route("/dev", dev); // DEMO_MODE only: the dev SMS outbox, in a developer's browser

app.onError((err, c) => {
  if (err instanceof HTTPException) return err.getResponse();
  if (err instanceof ConfigError) {
    log.error("config_error", { error: err.message });
    return c.json({ error: "service misconfigured" }, 500);
  }
  // The path may hold a live link token (/m/<token>): only its redacted form is logged.
  log.error("unhandled_error", { path: redactPath(c.req.path), error: String(err), stack: err.stack });
  return c.json({ error: "internal error" }, 500);
});
