// Bindings only the test runs add (vitest.config.ts), on top of those from `wrangler types`.
declare namespace Cloudflare {
  interface Env {
    TEST_GATEWAY_URL: string;
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
