import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../../workers/config/schema";
import { authenticateKeyedCall } from "../../workers/domain/endpoint-keys";
import { sha256Hex } from "../../core/tokens";

/**
 * authenticateKeyedCall settles a key from MFA_CONFIG without reading D1 (the Magic Link call's
 * hot path); every other key still goes through D1, so D1 tokens work and a wrong key is
 * compared against all of the endpoint's keys.
 */
async function config() {
  return ConfigSchema.parse({
    defaultEndpoint: "main",
    endpoints: [
      {
        name: "main",
        apiKeys: [
          { name: "configured", sha256: await sha256Hex("config-key") },
          { name: "old", sha256: await sha256Hex("expired-key"), expires: "2020-01-01" },
        ],
      },
    ],
  });
}

/** A D1 that fails every query: a call that reaches it throws. */
const unreachableDb = {
  prepare() {
    throw new Error("D1 was asked");
  },
} as unknown as D1Database;
const withoutD1 = { ...env, DB: unreachableDb } as Env;

describe("authenticateKeyedCall", () => {
  it("accepts a configured key without asking D1", async () => {
    const call = await authenticateKeyedCall(withoutD1, await config(), "main", "config-key");
    expect(call).toMatchObject({ ok: true, keyName: "configured", endpoint: { name: "main" } });
  });

  it("asks D1 for any other key: wrong, expired, or a D1 token", async () => {
    const c = await config();
    await expect(authenticateKeyedCall(withoutD1, c, "main", "wrong-key")).rejects.toThrow("D1 was asked");
    await expect(authenticateKeyedCall(withoutD1, c, "main", "expired-key")).rejects.toThrow("D1 was asked");
    // With the real D1 the same calls get their usual answers.
    expect(await authenticateKeyedCall(env, c, "main", "wrong-key")).toMatchObject({ ok: false, reason: "invalid_api_key" });
    expect(await authenticateKeyedCall(env, c, "main", "expired-key")).toMatchObject({ ok: false, reason: "expired_api_key" });
    expect(await authenticateKeyedCall(env, c, "main", undefined)).toMatchObject({ ok: false, reason: "missing_api_key" });
  });

  it("still accepts a D1 token of a D1 endpoint", async () => {
    const now = Date.now();
    await env.DB.prepare("INSERT INTO endpoints (name, settings, created_at, updated_at) VALUES (?, ?, ?, ?)")
      .bind("stored", "{}", now, now)
      .run();
    await env.DB.prepare("INSERT INTO api_tokens (id, endpoint, name, sha256, expires, created_at) VALUES (?, ?, ?, ?, NULL, ?)")
      .bind("t1", "stored", "d1-token", await sha256Hex("d1-key"), now)
      .run();
    expect(await authenticateKeyedCall(env, await config(), "stored", "d1-key")).toMatchObject({ ok: true, keyName: "d1-token" });
  });
});
