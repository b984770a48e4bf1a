import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { ConfigError } from "./config/load";
import { APP_CSS } from "./pages/layout";
import { authenticatorApp } from "./routes/app";
import { appApi } from "./routes/app-api";
import { approval } from "./routes/approval";
import { authApi } from "./routes/auth-api";
import { dev } from "./routes/dev";
import { offlineApi } from "./routes/offline-api";

export const app = new Hono<{ Bindings: Env }>();

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

app.get("/assets/app.css", (c) => {
  c.header("cache-control", "public, max-age=3600");
  return c.body(APP_CSS, 200, { "content-type": "text/css; charset=utf-8" });
});
app.get("/healthz", (c) => c.json({ ok: true }));

app.route("/", authApi);
app.route("/", approval);
app.route("/", dev);
app.route("/", authenticatorApp);
app.route("/", appApi);
app.route("/", offlineApi);

app.onError((err, c) => {
  if (err instanceof HTTPException) return err.getResponse();
  if (err instanceof ConfigError) {
    console.error(JSON.stringify({ event: "config_error", error: err.message }));
    return c.json({ error: "service misconfigured" }, 500);
  }
  console.error(JSON.stringify({ event: "unhandled_error", path: c.req.path, error: String(err), stack: err.stack }));
  return c.json({ error: "internal error" }, 500);
});
