// Bindings only the test runs add (vitest.config.ts), on top of those from `wrangler types`.
declare namespace Cloudflare {
  interface Env {
    TEST_GATEWAY_URL: string;
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_PUSH_URL: string;
    TEST_GRAPH_URL: string;
    ENTRA_TEST_SECRET: string;
    TEST_WEBHOOK_URL: string;
    TEST_WEBHOOK_SECRET: string;
    TEST_ACCESS_CERTS_URL: string;
    TEST_ACCESS_SIGNING_JWK: string;
    TEST_ACCESS_OTHER_JWK: string;
    VAPID_PUBLIC_KEY: string;
    VAPID_PRIVATE_KEY: string;
    VAPID_SUBJECT: string;
    SEED_ENCRYPTION_KEY: string;
  }
}
