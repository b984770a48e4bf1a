import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import type {} from "@cloudflare/vitest-plugin"; // types only; the module loads below
import { defineConfig } from "vitest/config";
import { buildClient } from "./scripts/build-client.mjs";
import { FAKE_PUSH_CERT_PATH, startFakePushService } from "./harness/fake-push-service.ts";
import { FAKE_GRAPH, startFakeGraph } from "./harness/fake-graph.ts";
import { startFakeAccessJwks } from "./harness/fake-access-jwks.ts";
import { startFakeSmsGateway } from "./harness/fake-sms-gateway.ts";
import { startFakeWebhookReceiver } from "./harness/fake-webhook-receiver.ts";
import { ADMIN_TOKEN } from "./test/support/keys.ts";
import { TEST_CONFIG } from "./test/support/test-config.ts";

// Push endpoints must be https: the local fake push service has a test-only certificate,
// which miniflare adds to workerd's trust store when it loads, hence set before the import.
process.env.NODE_EXTRA_CA_CERTS = FAKE_PUSH_CERT_PATH;
const { cloudflareTest, readD1Migrations } = await import("@cloudflare/vitest-plugin");

// The Worker serves the app's browser bundle; build it from client/ so tests see the current code.
await buildClient();

// A real HTTP SMS gateway on loopback for the Worker's SMS adapters (see the file for behaviours).
const gateway = await startFakeSmsGateway();
// The D1 migrations, applied to each test file's database by test/worker/apply-migrations.ts.
const migrations = await readD1Migrations("./migrations");
// A real HTTPS push service on loopback that decrypts what it gets (see the file).
const push = await startFakePushService();
// A local token endpoint and Microsoft Graph for the Entra ID approver directory (see the file).
const graph = await startFakeGraph();
// A local HTTPS webhook receiver for the async API (see the file).
const webhooks = await startFakeWebhookReceiver();
// A local Cloudflare Access key set for the admin console's Access JWT check (see the file).
const access = await startFakeAccessJwks();

// A VAPID key pair for this run, in the formats the secrets use (base64url point and scalar).
const vapid = (() => {
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
  return { publicKey: point.toString("base64url"), privateKey: jwk.d! };
})();

export default defineConfig({
  test: {
    // Structured auth logs are only worth reading when a test fails. (A root-only option
    // in vitest 4: inside a project it is a type error and ignored.)
    silent: "passed-only",
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                DEMO_MODE: "false",
                MFA_CONFIG: JSON.stringify(TEST_CONFIG),
                SMS_PROVIDER: "http",
                SMS_HTTP_URL: `${gateway.url}/sms`,
                SMS_HTTP_CONTENT_TYPE: "application/json",
                SMS_HTTP_BODY: '{"to":"{phone}","message":"{text}"}',
                SMS_HTTP_BEARER_TOKEN: "gateway-secret",
                SMS_HTTP_SUCCESS_MATCH: '"status":"created"',
                SMS_TIMEOUT_MS: "1500",
                VAPID_PUBLIC_KEY: vapid.publicKey,
                VAPID_PRIVATE_KEY: vapid.privateKey,
                VAPID_SUBJECT: "mailto:ops@edge-mfa.test",
                SEED_ENCRYPTION_KEY: randomBytes(32).toString("base64url"),
                TEST_GATEWAY_URL: gateway.url,
                TEST_MIGRATIONS: migrations,
                ADMIN_TOKEN_SHA256: createHash("sha256").update(ADMIN_TOKEN).digest("hex"),
                TEST_PUSH_URL: push.url,
                TEST_GRAPH_URL: graph.url,
                ENTRA_TEST_SECRET: FAKE_GRAPH.clientSecret,
                TEST_WEBHOOK_URL: webhooks.url,
                // A Standard Webhooks signing secret, named by the test endpoints' webhook.signingSecret.
                TEST_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString("base64")}`,
                TEST_ACCESS_CERTS_URL: access.certsUrl,
                TEST_ACCESS_SIGNING_JWK: access.signingJwk,
                TEST_ACCESS_OTHER_JWK: access.otherJwk,
                // The local fake push service is a push host only by this explicit addition.
                PUSH_HOST_ALLOWLIST: new URL(push.url).hostname,
              },
            },
          }),
        ],
        test: {
          name: "worker",
          setupFiles: ["./test/worker/apply-migrations.ts"],
          include: ["test/worker/**/*.test.{ts,tsx}"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          // Node-side code: the RADIUS relay, the admin CLI, and the dependency rules.
          name: "node",
          include: ["test/relay/**/*.test.ts", "test/cli/**/*.test.ts", "test/bench/**/*.test.ts", "test/architecture/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
