import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { demoModeProblems } from "../../workers/config/demo-guard";
import { DEMO_ADMIN_TOKEN } from "../../workers/lib/admin-auth";

/** Issue 17 item 5: DEMO_MODE="true" alone no longer turns a real deployment into the demo. */

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
/** A developer's demo: no admin hash, no secrets, the outbox instead of a gateway. */
const demoEnv = {
  ...env,
  DEMO_MODE: "true",
  ADMIN_TOKEN_SHA256: "",
  VAPID_PUBLIC_KEY: "",
  VAPID_PRIVATE_KEY: "",
  VAPID_SUBJECT: "",
  SEED_ENCRYPTION_KEY: "",
  SMS_PROVIDER: "outbox",
} as Env;

const fetchAs = (url: string, e: Env, headers: Record<string, string> = {}) => worker.fetch(new Request(url, { headers }), e, ctx);

describe("demo mode guard", () => {
  it("runs on a loopback host with nothing real configured", async () => {
    expect(demoModeProblems(demoEnv, "http://localhost:8787/")).toEqual([]);
    expect(demoModeProblems(demoEnv, "http://127.0.0.1:8787/")).toEqual([]);
    expect((await fetchAs("http://127.0.0.1:8787/dev/outbox.json", demoEnv)).status).toBe(200);
    const admin = await fetchAs("http://localhost:8787/admin/v1/endpoints", demoEnv, { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` });
    expect(admin.status).toBe(200);
  });

  it("is refused on a public host: every request fails with a configuration error", async () => {
    for (const path of ["/healthz", "/dev/outbox.json", "/admin/v1/endpoints", "/api/sfwa/auth?msisdn=%2B46701234567"]) {
      const res = await fetchAs(`https://mfa.example.com${path}`, demoEnv, {
        authorization: `Bearer ${DEMO_ADMIN_TOKEN}`,
        "api-key": "c3859cad-479a-4d65-9253-459ea4a12b34",
      });
      expect(res.status, path).toBe(500);
      expect(await res.json()).toMatchObject({ error: expect.stringMatching(/DEMO_MODE/) });
    }
  });

  it("is refused with a real admin hash, real secrets or a real SMS provider, even on loopback", async () => {
    const at = "http://localhost:8787/dev/outbox.json";
    for (const extra of [
      { ADMIN_TOKEN_SHA256: "a".repeat(64) },
      { ADMIN_TOKENS: `[{"name":"ops","sha256":"${"b".repeat(64)}"}]` },
      { SEED_ENCRYPTION_KEY: env.SEED_ENCRYPTION_KEY },
      { VAPID_PRIVATE_KEY: env.VAPID_PRIVATE_KEY },
      { SMS_PROVIDER: "http", SMS_HTTP_URL: "https://sms.example.com/send" },
      { SMS_PROVIDER: "46elks" },
      { SMS_PROVIDER: "twilio", TWILIO_API_BASE: "https://api.twilio.com" },
    ]) {
      const e = { ...demoEnv, ...extra } as Env;
      expect(demoModeProblems(e, at), JSON.stringify(extra)).toHaveLength(1);
      expect((await fetchAs(at, e)).status, JSON.stringify(extra)).toBe(500);
    }
    // The whole test environment (admin hash, secrets, gateway) with DEMO_MODE switched on.
    expect(demoModeProblems({ ...env, DEMO_MODE: "true" } as Env, "https://mfa.example.com/").length).toBe(3);
  });

  it("allows a gateway on loopback (local test rigs) and ignores everything when off", () => {
    const e = { ...demoEnv, SMS_PROVIDER: "http", SMS_HTTP_URL: "http://127.0.0.1:9999/sms" } as Env;
    expect(demoModeProblems(e, "http://127.0.0.1:8787/")).toEqual([]);
    expect(demoModeProblems(env, "https://mfa.example.com/")).toEqual([]);
  });
});
