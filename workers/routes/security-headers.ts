import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";

/**
 * What every response carries beside its CSP: no referrer, no framing (for browsers without
 * frame-ancestors), HTTPS only, plus hono's nosniff, COOP and CORP. Off: hono's legacy defaults
 * that no browser we serve acts on, and that cost every response its bytes (docs/security.md,
 * "Response headers"): X-XSS-Protection (the XSS auditor is gone from every browser; the CSP
 * allows no inline script), X-Download-Options (Internet Explorer 8), X-DNS-Prefetch-Control
 * (no page links to another host), X-Permitted-Cross-Domain-Policies (Flash and Acrobat
 * policy files; none is served) and Origin-Agent-Cluster (no page uses document.domain; COOP
 * isolates the page).
 */
const common = {
  referrerPolicy: "no-referrer",
  xFrameOptions: "DENY",
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
  xXssProtection: false,
  xDownloadOptions: false,
  xDnsPrefetchControl: false,
  xPermittedCrossDomainPolicies: false,
  originAgentCluster: false,
} as const;
const baseCsp = {
  defaultSrc: ["'none'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

/**
 * Every response: no referrer leaks of link tokens, no framing, no scripts. These are the
 * defaults: a sub-app that sets its own (the authenticator app, below) keeps them.
 */
export const pageHeaders = secureHeaders({ contentSecurityPolicy: baseCsp, ...common, overwrite: false });

/** The authenticator app runs script, but only same-origin files: no inline, no eval. */
export const appHeaders = secureHeaders({
  contentSecurityPolicy: {
    ...baseCsp,
    scriptSrc: ["'self'"],
    connectSrc: ["'self'"],
    workerSrc: ["'self'"],
    manifestSrc: ["'self'"],
  },
  ...common,
});

/** The password reset pages: one same-origin script (/assets/reset.js) that encrypts the password; no inline, no eval, no fetch. */
export const resetHeaders = secureHeaders({
  contentSecurityPolicy: { ...baseCsp, scriptSrc: ["'self'"] },
  ...common,
});

/**
 * The admin console: same-origin scripts (the dashboard's charts) and styles only, no inline,
 * no eval; forms post only to itself; fetches (chart data) only to itself. Referrers stay
 * same-origin rather than none: under no-referrer a browser sends `Origin: null` on form posts,
 * and the console's CSRF check wants the real Origin (console URLs carry no secrets).
 */
export const consoleHeaders = secureHeaders({
  contentSecurityPolicy: { ...baseCsp, scriptSrc: ["'self'"], connectSrc: ["'self'"] },
  ...common,
  referrerPolicy: "same-origin",
});

/** Nothing cached, unless a route says otherwise (static files do). */
export const noStoreByDefault = createMiddleware(async (c, next) => {
  await next();
  if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
});
