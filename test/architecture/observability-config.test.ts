import { unstable_readConfig } from "wrangler";
import { describe, expect, it } from "vitest";

/**
 * What the deploy config lets Cloudflare's Workers Logs keep. The service's own lines are
 * redacted (core/redact.ts); the platform's invocation logs would record each request's URL
 * and headers as they came, beside them: a link's path is its live token, the Magic Link call
 * carries its api-key header and the user's number in its query. Read with wrangler's own
 * config reader, as `wrangler deploy` reads it.
 */
describe("observability in wrangler.toml", () => {
  const observability = unstable_readConfig({ config: "wrangler.toml" }).observability;

  it("keeps Workers Logs on for the service's own lines, without the platform's invocation logs", () => {
    expect(observability?.enabled).toBe(true);
    expect(observability?.logs?.enabled).toBe(true);
    expect(observability?.logs?.invocation_logs).toBe(false);
  });

  it("removes query strings from what the platform still records of a request", () => {
    expect(observability?.redact_query_string).toBe(true);
  });
});
