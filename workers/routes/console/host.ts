import { ADMIN_API_BASE } from "../../../core/contracts/admin-api";
import { CONSOLE_BASE } from "./gate";

/**
 * CONSOLE_HOST: the admin console on a host name of its own (docs/security.md "Admin web
 * console"). Set, the console answers only on that host, and that host serves nothing but the
 * console, the admin API and /healthz: the pages anyone can open (/m, /app, /reset) then run
 * on another origin, so a script that ever ran in one of them could neither read the
 * console's pages nor send its requests with the operator's cookies. Unset, one host serves
 * everything, as before. A malformed value keeps the console closed everywhere (and says so
 * in the log) rather than open on the wrong host; the rest of the service runs on.
 */
export type ConsoleHost = { kind: "any" } | { kind: "only"; host: string } | { kind: "invalid"; reason: string };

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

export function consoleHostFromEnv(value: string | undefined): ConsoleHost {
  const host = value?.trim().toLowerCase().replace(/\.$/, "") ?? "";
  if (host === "") return { kind: "any" };
  if (host.includes("://"))
    return { kind: "invalid", reason: `CONSOLE_HOST is a host name, not a URL (e.g. admin.mfa.example.com): "${host}"` };
  // Cookies are shared by every port of a host name: only a name of its own separates the console.
  if (/:[0-9]*$/.test(host))
    return { kind: "invalid", reason: `CONSOLE_HOST is a host name without a port (browsers share cookies across ports): "${host}"` };
  if (!HOST_NAME.test(host)) return { kind: "invalid", reason: `CONSOLE_HOST is not a host name (e.g. admin.mfa.example.com): "${host}"` };
  return { kind: "only", host };
}

/** A request URL's host name as a browser keys cookies by it: no port, any case, no trailing dot. */
export function requestHostName(url: string): string {
  return new URL(url).hostname.toLowerCase().replace(/\.$/, "");
}

/** /admin and below: the console and, under it, the admin API. */
const underAdmin = (path: string) => path === CONSOLE_BASE || path.startsWith(`${CONSOLE_BASE}/`);

/** The admin API (bearer tokens, no cookies), which the console's middleware leaves alone too (index.tsx). */
export const isAdminApiPath = (path: string) => path === ADMIN_API_BASE || path.startsWith(`${ADMIN_API_BASE}/`);

/** The console's pages and assets: /admin and below, except the admin API. */
export function isConsolePath(path: string): boolean {
  return underAdmin(path) && !isAdminApiPath(path);
}

/** What the console's own host serves: the console, the admin API (both under /admin) and the uptime check. */
function servedOnConsoleHost(path: string): boolean {
  return path === "/healthz" || underAdmin(path);
}

/**
 * Whether a request for `path` that arrived for `hostName` (requestHostName: on any port, the
 * console's host name is the console's host) is served; the caller answers 404 when not.
 * `path` must be the path the router matches on.
 */
export function hostServes(rule: ConsoleHost, hostName: string, path: string): boolean {
  switch (rule.kind) {
    case "any":
      return true;
    case "invalid":
      return !isConsolePath(path);
    case "only":
      return hostName === rule.host ? servedOnConsoleHost(path) : !isConsolePath(path);
  }
}
