import { Hono } from "hono";
import type { ConsoleEnv } from "./context";
import { consoleAudit } from "./audit";
import { consoleDashboard } from "./dashboard";
import { consoleEndpoints } from "./endpoints";
import { consoleGate } from "./gate";
import { isAdminApiPath } from "./host";
import { consoleHeaders } from "../security-headers";
import { consoleSignIn } from "./sign-in";
import { consoleSubscribers } from "./subscribers";

/**
 * The admin web console, mounted at /admin/ (workers/app.ts) after the admin API (/admin/v1). Middleware here
 * would also see /admin/v1/* requests the admin API passed on (hono matches by prefix), so
 * the gate leaves those alone: a console cookie is never an admin API credential, and the
 * API's bearer check stays the only one it has.
 */
export const adminConsole = new Hono<ConsoleEnv>();

adminConsole.use(async (c, next) => (isAdminApiPath(c.req.path) ? next() : consoleHeaders(c, next)));
adminConsole.use(async (c, next) => (isAdminApiPath(c.req.path) ? next() : consoleGate(c, next)));
adminConsole.route("/", consoleSignIn); // /admin/login, /admin/logout, /admin/assets/console.css
adminConsole.route("/endpoints", consoleEndpoints);
adminConsole.route("/subscribers", consoleSubscribers);
adminConsole.route("/audit", consoleAudit);
adminConsole.route("/", consoleDashboard);
