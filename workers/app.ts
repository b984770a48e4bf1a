import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { ConfigError } from "./config/load";
import { demoModeProblems } from "./config/demo-guard";
import { APP_CSS } from "./pages/layout";
import { adminApi } from "./routes/admin-api";
import { approval } from "./routes/approval";
import { authApi } from "./routes/auth-api";
import { dev } from "./routes/dev";
import { relayApi } from "./routes/relay-api";
import { authenticatorApp } from "./routes/app";
import { appApi } from "./routes/app-api";
import { offlineApi } from "./routes/offline-api";
import { log } from "./lib/log";
import { redactPath } from "../core/redact";

export const app = new Hono<{ Bindings: Env }>();

// DEMO_MODE only on a developer's machine: anything else fails every request, loudly.
app.use(async (c, next) => {
  const problems = demoModeProblems(c.env, c.req.url);
  if (problems.length === 0) return next();
  log.error("config_error", { error: "DEMO_MODE refused", problems });
  return c.json({ error: "service misconfigured: DEMO_MODE is only allowed on a local development machine" }, 500);
});

const common = {
  referrerPolicy: "no-referrer",
  xFrameOptions: "DENY",
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
} as const;
const baseCsp = {
  defaultSrc: ["'none'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};
// Every response: nothing cached, no referrer leaks of link tokens, no framing, no scripts.
const pageHeaders = secureHeaders({ contentSecurityPolicy: baseCsp, ...common });
// The authenticator app runs script, but only same-origin files: no inline, no eval.
const appHeaders = secureHeaders({
  contentSecurityPolicy: {
    ...baseCsp,
    scriptSrc: ["'self'"],
    connectSrc: ["'self'"],
    workerSrc: ["'self'"],
    manifestSrc: ["'self'"],
  },
  ...common,
});
app.use((c, next) => (c.req.path === "/app" || c.req.path.startsWith("/app/") ? appHeaders(c, next) : pageHeaders(c, next)));
app.use(async (c, next) => {
  await next();
  if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
});

// Nothing we accept is large: cap bodies before anything parses them.
const tooLarge = (c: Context) => c.json({ error: "request body too large" }, 413);
app.use("/m/*", bodyLimit({ maxSize: 4 * 1024, onError: tooLarge }));
app.use("*", bodyLimit({ maxSize: 64 * 1024, onError: tooLarge }));

app.get("/assets/app.css", (c) => {
  c.header("cache-control", "public, max-age=3600");
  return c.body(APP_CSS, 200, { "content-type": "text/css; charset=utf-8" });
});
app.get("/healthz", (c) => c.json({ ok: true }));

app.route("/", authApi);
app.route("/", approval);
app.route("/", dev);
app.route("/", relayApi);
app.route("/", adminApi);
app.route("/", authenticatorApp);
app.route("/", appApi);
app.route("/", offlineApi);

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
