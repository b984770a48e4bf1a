#!/usr/bin/env node
// `npm run dev`: wrangler dev (local miniflare/workerd, no Cloudflare account) in demo mode:
// an embedded endpoint + API key and a dev SMS outbox instead of a real gateway.
// The Worker refuses demo mode unless it is plainly local (loopback host, no admin hash, no
// real secrets or SMS provider): with a real gateway in .dev.vars, run `npm run dev -- --no-demo`.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { API_REFERENCE_ASSETS_PATH, API_REFERENCE_FILES } from "../core/contracts/api-reference.ts";
import { DEMO_ADMIN_TOKEN, DEMO_API_KEY } from "./demo-key.mjs";

const port = process.env.PORT ?? "8787";
const base = `http://localhost:${port}`;
const demo = !process.argv.includes("--no-demo");
const extra = process.argv.slice(2).filter((a) => a !== "--no-demo");

if (!demo) console.log(`\n  Edge MFA, local (no demo mode): ${base}  (configure it with .dev.vars)\n`);
else
  console.log(`
  Edge MFA, local demo mode
  ─────────────────────────
  API        ${base}/api/sfwa/auth   (endpoint "demo" is the default)
  api-key    ${DEMO_API_KEY}
  SMS outbox ${base}/dev/outbox      (messages are shown here instead of being sent)
  admin      Authorization: Bearer ${DEMO_ADMIN_TOKEN}
  console    ${base}/admin/login    (operator "demo", the admin token above)
  App        ${base}/app/            (activate it from an SMS link page: "Use the app")
  API docs   ${base}/dev/api         (the OpenAPI document: ${base}/openapi.json)

  Try it (blocks until you answer via the link in the outbox):
    curl -s '${base}/api/sfwa/auth?msisdn=%2B46701234567' -H 'api-key: ${DEMO_API_KEY}'
`);

// Apply the D1 migrations to the same local database wrangler dev will use.
const persistAt = extra.indexOf("--persist-to");
const persist = persistAt >= 0 ? ["--persist-to", extra[persistAt + 1]] : [];
const migrated = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", ...persist], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
});
if (migrated.status !== 0) {
  console.error(`D1 migrations failed:\n${migrated.stdout}`);
  process.exit(1);
}

// The API reference page's swagger-ui files, as wrangler dev static assets: served locally by
// this dev server only, so the 1.5 MB bundle is never part of the Worker that is deployed.
const assets = mkdtempSync(join(tmpdir(), "edge-mfa-dev-assets-"));
const swaggerDist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
mkdirSync(join(assets, API_REFERENCE_ASSETS_PATH), { recursive: true });
for (const file of API_REFERENCE_FILES) copyFileSync(join(swaggerDist, file), join(assets, API_REFERENCE_ASSETS_PATH, file));

const child = spawn(
  "wrangler",
  [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    port,
    ...(demo ? ["--var", "DEMO_MODE:true"] : []),
    // Local push services (the tests' fake one) run on localhost; a later --var wins.
    "--var",
    "PUSH_HOST_ALLOWLIST:localhost",
    "--show-interactive-dev-session=false",
    "--assets",
    assets,
    ...extra,
  ],
  { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
