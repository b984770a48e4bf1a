import { Hono } from "hono";
import { vapidFromEnv } from "../config/app-secrets";
import { loadConfig } from "../config/load";
import { APP_JS, BUILD_ID, SW_JS } from "../generated/client-assets";
import { AUTHENTICATOR_CSS, AuthenticatorPage, ICON_SVG, MANIFEST } from "../pages/authenticator";

/** The authenticator web app, mounted at /app/: shell, bundles, manifest and icon (all same-origin, CSP-clean). */
export const authenticatorApp = new Hono<{ Bindings: Env }>();

const JS = "text/javascript; charset=utf-8";

authenticatorApp.get("/", (c) => {
  let vapid: string | null = null;
  try {
    vapid = vapidFromEnv(c.env)?.publicKey ?? null;
  } catch {
    vapid = null; // misconfigured push: the app still activates for offline codes
  }
  let appActivation = false;
  try {
    appActivation = loadConfig(c.env).appActivation !== undefined;
  } catch {
    appActivation = false; // a broken MFA_CONFIG is reported by the API calls; the form is just not offered
  }
  return c.html(<AuthenticatorPage vapidPublicKey={vapid} appActivation={appActivation} />);
});

authenticatorApp.get("/app.js", (c) => {
  c.header("etag", `"${BUILD_ID}"`);
  return c.body(APP_JS, 200, { "content-type": JS, "cache-control": "no-cache" });
});

// Served from /app/ so its default scope is /app/; never cached by HTTP so updates arrive.
authenticatorApp.get("/sw.js", (c) => c.body(SW_JS, 200, { "content-type": JS, "cache-control": "no-cache" }));

authenticatorApp.get("/app.css", (c) =>
  c.body(AUTHENTICATOR_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" }),
);

authenticatorApp.get("/manifest.webmanifest", (c) =>
  c.body(JSON.stringify(MANIFEST), 200, { "content-type": "application/manifest+json", "cache-control": "no-cache" }),
);

authenticatorApp.get("/icon.svg", (c) =>
  c.body(ICON_SVG, 200, { "content-type": "image/svg+xml", "cache-control": "public, max-age=86400" }),
);
