import { describe, expect, it } from "vitest";
import { DEMO_API_KEY, loadConfig } from "../../../workers/config/load";
import { ConfigSchema } from "../../../workers/config/schema";
import { authenticateApiKey, isExpired } from "../../../workers/lib/api-keys";
import { sha256Hex } from "../../../core/tokens";
import { DEMO_ADMIN_TOKEN as PRINTED_ADMIN_TOKEN, DEMO_API_KEY as PRINTED_DEMO_KEY } from "../../../scripts/demo-key.mjs";
import { DEMO_ADMIN_TOKEN } from "../../../workers/lib/admin-auth";

async function config() {
  return ConfigSchema.parse({
    defaultEndpoint: "main",
    endpoints: [
      {
        name: "main",
        apiKeys: [
          { name: "a", sha256: await sha256Hex("key-a"), expires: "2030-06-30" },
          { name: "b", sha256: await sha256Hex("key-b") },
        ],
      },
      { name: "second", apiKeys: [{ name: "c", sha256: await sha256Hex("key-c") }] },
    ],
  });
}
const now = new Date("2030-06-30T23:59:59Z");
type Cfg = Awaited<ReturnType<typeof config>>;
/** The route's view: the endpoint named in the URL, or the default one. */
const check = (c: Cfg, name: string | undefined, key: string | undefined, at: Date) =>
  authenticateApiKey(c.endpoints.find((e) => e.name === (name ?? c.defaultEndpoint)) ?? null, key, at);

describe("authenticateApiKey", () => {
  it("accepts a valid key on its endpoint (named or default)", async () => {
    const c = await config();
    expect(await check(c, undefined, "key-a", now)).toMatchObject({ ok: true, keyName: "a" });
    expect(await check(c, "main", "key-b", now)).toMatchObject({ ok: true, keyName: "b" });
    expect(await check(c, "second", "key-c", now)).toMatchObject({ ok: true, keyName: "c" });
  });
  it("refuses keys of another endpoint, unknown keys, missing keys and unknown endpoints", async () => {
    const c = await config();
    expect(await check(c, "second", "key-a", now)).toEqual({ ok: false, reason: "invalid_api_key" });
    expect(await check(c, undefined, "key-a ", now)).toEqual({ ok: false, reason: "invalid_api_key" });
    expect(await check(c, undefined, undefined, now)).toEqual({ ok: false, reason: "missing_api_key" });
    expect(await check(c, "nope", "key-a", now)).toEqual({ ok: false, reason: "unknown_endpoint" });
  });
  it("treats the expiry date as the last valid day (UTC)", async () => {
    const c = await config();
    const after = new Date("2030-07-01T00:00:00Z");
    expect(await check(c, undefined, "key-a", after)).toEqual({ ok: false, reason: "expired_api_key" });
    expect(isExpired("2030-06-30", now)).toBe(false);
    expect(isExpired("2030-06-30", after)).toBe(true);
  });
});

describe("loadConfig", () => {
  it("adds the demo endpoint only in DEMO_MODE, with the documented example key", async () => {
    const demo = loadConfig({ MFA_CONFIG: "", DEMO_MODE: "true" });
    expect(demo.defaultEndpoint).toBe("demo");
    expect(await check(demo, undefined, DEMO_API_KEY, new Date())).toMatchObject({ ok: true });
    expect(PRINTED_DEMO_KEY).toBe(DEMO_API_KEY); // what `npm run dev` prints is what works
    expect(PRINTED_ADMIN_TOKEN).toBe(DEMO_ADMIN_TOKEN);
    const prod = loadConfig({ MFA_CONFIG: "", DEMO_MODE: "false" });
    expect(prod.endpoints).toEqual([]);
  });
  it("reports invalid JSON and schema errors clearly", () => {
    expect(() => loadConfig({ MFA_CONFIG: "{nope", DEMO_MODE: "false" })).toThrow(/not valid JSON/);
    expect(() => loadConfig({ MFA_CONFIG: '{"rateLimit":{"perMinute":0,"perHour":1}}', DEMO_MODE: "false" })).toThrow(
      /MFA_CONFIG is invalid/,
    );
  });
});
