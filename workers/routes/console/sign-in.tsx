import { Hono } from "hono";
import { randomToken, timingSafeEqualString } from "../../../core/tokens";
import { signInToConsole } from "../../domain/console-login";
import { endConsoleSession } from "../../domain/console-session";
import { AdminConfigError } from "../../lib/admin-auth";
import { accessConfigFromEnv } from "../../lib/cf-access";
import { clientIp } from "../../lib/client-ip";
import { log } from "../../lib/log";
import { auditAdmin } from "../../store/audit";
import { ConsoleLoginPage, ConsoleMessagePage } from "../../pages/console/layout";
import { CONSOLE_CSS } from "../../pages/console/styles";
import type { ConsoleEnv } from "./context";
import {
  clearDeviceCookie,
  clearLoginCookie,
  clearSessionCookie,
  deviceCookie,
  loginCookie,
  sessionCookie,
  setDeviceCookie,
  setLoginCookie,
  setSessionCookie,
} from "./cookies";
import { sameOriginRequest } from "./csrf";
import { CONSOLE_BASE, forbidden } from "./gate";

/** Sign-in, sign-out and the stylesheet (mounted at /admin, behind consoleGate). */
export const consoleSignIn = new Hono<ConsoleEnv>();

consoleSignIn.get("/assets/console.css", (c) => {
  c.header("cache-control", "public, max-age=3600");
  return c.body(CONSOLE_CSS, 200, { "content-type": "text/css; charset=utf-8" });
});

consoleSignIn.get("/login", async (c) => {
  // The form's token pairs with a cookie set here: a form posted from another site has neither.
  const token = loginCookie(c) ?? randomToken(32);
  setLoginCookie(c, token);
  return c.html(<ConsoleLoginPage loginToken={token} />);
});

consoleSignIn.post("/login", async (c) => {
  const cookie = loginCookie(c);
  const form = await c.req.parseBody();
  const token = form._csrf;
  if (
    !sameOriginRequest(c.req.raw.headers, c.req.url) ||
    !cookie ||
    typeof token !== "string" ||
    !(await timingSafeEqualString(token, cookie))
  ) {
    log.warn("console_login_csrf_refused", {});
    return forbidden(c, "The sign-in form expired or came from elsewhere. Open the sign-in page and try again.");
  }
  const name = typeof form.name === "string" ? form.name : "";
  const secret = typeof form.secret === "string" ? form.secret : "";
  let result: Awaited<ReturnType<typeof signInToConsole>>;
  try {
    result = await signInToConsole(c.env, { name, secret, ip: clientIp(c.req.raw.headers), device: deviceCookie(c) }, (work) =>
      c.executionCtx.waitUntil(work),
    );
  } catch (e) {
    if (!(e instanceof AdminConfigError)) throw e;
    log.error("config_error", { error: e.message });
    return c.html(<ConsoleMessagePage title="Console misconfigured" text="See the Worker's logs." />, 500);
  }
  if (result.kind !== "ok" && result.forgetDevice) clearDeviceCookie(c);
  if (result.kind === "rate_limited") {
    c.header("retry-after", String(Math.ceil(result.retryAfterMs / 1000)));
    return c.html(<ConsoleLoginPage loginToken={cookie} error="Too many sign-in attempts. Wait a while and try again." />, 429);
  }
  if (result.kind === "wrong") return c.html(<ConsoleLoginPage loginToken={cookie} error="Wrong operator name or admin token." />, 401);
  clearLoginCookie(c);
  setSessionCookie(c, result.session.id);
  setDeviceCookie(c, result.device);
  return c.redirect(`${CONSOLE_BASE}/`, 303);
});

/**
 * The gate has checked the CSRF token; this ends the session (and, behind Access, the Access
 * session too). The device cookie stays: it is about the browser, not the session.
 */
consoleSignIn.post("/logout", async (c) => {
  const id = sessionCookie(c);
  if (id) await endConsoleSession(c.env, id);
  await auditAdmin(c.env.DB, { actor: c.get("operator"), action: "console.logout" });
  clearSessionCookie(c);
  const behindAccess = accessConfigFromEnv(c.env) !== null;
  return c.redirect(behindAccess ? "/cdn-cgi/access/logout" : `${CONSOLE_BASE}/login`, 303);
});
