import { createHash, randomBytes } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { startFakeSmsGateway } from "./test/support/fake-sms-gateway.ts";
import { ADMIN_TOKEN } from "./test/support/keys.ts";
import { TEST_CONFIG } from "./test/support/test-config.ts";

// A real HTTP SMS gateway on loopback for the Worker's SMS adapters (see the file for behaviours).
const gateway = await startFakeSmsGateway();
// The D1 migrations, applied to each test file's database by test/worker/apply-migrations.ts.
const migrations = await readD1Migrations("./migrations");

export default defineConfig({
  test: {
    // Structured auth logs are only worth reading when a test fails.
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
                TEST_GATEWAY_URL: gateway.url,
                TEST_MIGRATIONS: migrations,
                // As `wrangler secret put SEED_ENCRYPTION_KEY` would provide it in production.
                SEED_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
                ADMIN_TOKEN_SHA256: createHash("sha256").update(ADMIN_TOKEN).digest("hex"),
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
          // Node-side code: the RADIUS relay and the admin CLI.
          name: "node",
          include: ["test/relay/**/*.test.ts", "test/cli/**/*.test.ts"],
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
