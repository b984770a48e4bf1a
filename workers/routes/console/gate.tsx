import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { timingSafeEqualString } from "../../../core/tokens";
import { resumeConsoleSession, startConsoleSession, type ConsoleSession } from "../../domain/console-session";
import { stillCredentialed } from "../../domain/console-login";
import { AdminConfigError } from "../../lib/admin-auth";
import { ConsoleConfigError, accessConfigFromEnv, accessOperator } from "../../lib/cf-access";
import { log } from "../../lib/log";
import { redactPath } from "../../../core/redact";
import { ConsoleMessagePage } from "../../pages/console/layout";
import type { ConsoleEnv } from "./context";
import { sessionCookie, setSessionCookie } from "./cookies";
import { isSafeMethod, sameOriginRequest } from "./csrf";

/** Where the console lives and its unauthenticated paths. */
export const CONSOLE_BASE = "/admin";
export const LOGIN_PATH = `${CONSOLE_BASE}/login`;
export const CONSOLE_CSS_PATH = `${CONSOLE_BASE}/assets/console.css`;

export const forbidden = (c: Context, text = "This request was refused. Reload the page and try again.") =>
  c.html(<ConsoleMessagePage title="Forbidden" text={text} />, 403);

/**
 * Every console request passes here (never the admin API's: see isAdminApiPath in host.ts, used by index.tsx).
 * It decides who the operator is (Cloudflare Access JWT when configured, else the session
 * cookie), and refuses any request that is not GET/HEAD unless it comes from this origin and
 * carries the session's CSRF token. The sign-in form checks its own token (sign-in.tsx).
 */
export const consoleGate = createMiddleware<ConsoleEnv>(async (c, next) => {
  let access: ReturnType<typeof accessConfigFromEnv>;
  try {
    access = accessConfigFromEnv(c.env);
  } catch (e) {
    if (!(e instanceof ConsoleConfigError)) throw e;
    log.error("config_error", { error: e.message });
    return c.html(<ConsoleMessagePage title="Console misconfigured" text="See the Worker's logs." />, 500);
  }
  if (c.req.path === CONSOLE_CSS_PATH) return next();
  let session: ConsoleSession | null;
  if (access) {
    const operator = await accessOperator(access, c.req.header("cf-access-jwt-assertion"));
    if (!operator) {
      log.warn("console_access_refused", { path: redactPath(c.req.path) });
      return forbidden(c, "Cloudflare Access did not vouch for this request.");
    }
    session = await resumeConsoleSession(c.env, sessionCookie(c));
    if (!session || session.operator !== operator) {
      // Access vouches for the person; the session only carries the CSRF token for their forms.
      session = await startConsoleSession(c.env, operator, null);
      setSessionCookie(c, session.id);
    }
    if (c.req.path === LOGIN_PATH) return c.redirect(`${CONSOLE_BASE}/`, 303);
  } else {
    if (c.req.path === LOGIN_PATH) return next();
    try {
      session = await stillCredentialed(c.env, await resumeConsoleSession(c.env, sessionCookie(c)));
    } catch (e) {
      if (!(e instanceof AdminConfigError)) throw e;
      log.error("config_error", { error: e.message });
      return c.html(<ConsoleMessagePage title="Console misconfigured" text="See the Worker's logs." />, 500);
    }
    if (!session) return isSafeMethod(c.req.method) ? c.redirect(LOGIN_PATH, 303) : forbidden(c, "Your session has ended. Sign in again.");
  }
  if (!isSafeMethod(c.req.method) && !(await formFromThisSession(c, session))) {
    log.warn("console_csrf_refused", { path: redactPath(c.req.path), operator: session.operator });
    return forbidden(c);
  }
  c.set("operator", session.operator);
  c.set("csrfToken", session.csrfToken);
  return next();
});

/** Same origin, and the form's _csrf is this session's token (constant time). */
async function formFromThisSession(c: Context<ConsoleEnv>, session: ConsoleSession): Promise<boolean> {
  if (!sameOriginRequest(c.req.raw.headers, c.req.url)) return false;
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded") && !type.startsWith("multipart/form-data")) return false;
  const token = (await c.req.parseBody())._csrf;
  return typeof token === "string" && (await timingSafeEqualString(token, session.csrfToken));
}
