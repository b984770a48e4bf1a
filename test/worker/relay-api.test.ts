import { env, exports } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { generate } from "otplib";
import { beforeAll, describe, expect, it } from "vitest";
import { mintRelayToken } from "../../relay/src/relay-token";
import { DEMO_ADMIN_TOKEN } from "../../workers/lib/admin-auth";
import { ADMIN_TOKEN } from "../support/keys";
import { challengeResponseCode, seedFromBase32 } from "../../workers/lib/otp";
import { activateDevice } from "./app-helpers";
import { answer, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./helpers";

let key: CryptoKey;
let otherKey: CryptoKey;
let testEnv: Env;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  key = pair.privateKey;
  otherKey = (await generateKeyPair("ES256")).privateKey;
  const cfg = JSON.parse(env.MFA_CONFIG);
  cfg.relays = [{ name: "r1", publicJwk: await exportJWK(pair.publicKey), endpoint: "other" }];
  // Not DEMO_MODE: with an admin hash, secrets and a public host it is refused (issue 17 item 5).
  testEnv = { ...env, MFA_CONFIG: JSON.stringify(cfg) } as Env;
});

async function call(path: string, payload: unknown, opts: { token?: string | null; signingKey?: CryptoKey } = {}) {
  const body = JSON.stringify(payload);
  const token = opts.token === undefined ? await mintRelayToken(opts.signingKey ?? key, "r1", "POST", path, body) : opts.token;
  const worker = (await import("../../workers/index")).default;
  const res = await worker.fetch(
    new Request(`https://mfa.example.com${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    }),
    testEnv,
    { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
  );
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("relay API authentication", () => {
  it("refuses missing, foreign-key, unknown-relay, expired and unbound tokens", async () => {
    const p = "/api/relay/v1/subscriber";
    const body = { msisdn: "+46701234567" };
    expect((await call(p, body, { token: null })).status).toBe(401);
    expect((await call(p, body, { token: "garbage" })).status).toBe(401);
    expect((await call(p, body, { signingKey: otherKey })).json.reason).toMatch(/invalid token/);
    const unknown = await mintRelayToken(key, "r2", "POST", p, JSON.stringify(body));
    expect((await call(p, body, { token: unknown })).json.reason).toBe("unknown relay");
    // Signed for another body: cannot be replayed with different content.
    const otherBody = await mintRelayToken(key, "r1", "POST", p, JSON.stringify({ msisdn: "+46700000000" }));
    expect((await call(p, body, { token: otherBody })).json.reason).toBe("token not bound to this request");
    const otherPath = await mintRelayToken(key, "r1", "POST", "/api/relay/v1/touch", JSON.stringify(body));
    expect((await call(p, body, { token: otherPath })).status).toBe(401);
    const old = await new SignJWT({ htm: "POST", htu: p, bh: "x" })
      .setProtectedHeader({ alg: "ES256", kid: "r1" })
      .setIssuer("r1")
      .setAudience("edge-mfa-relay-api")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 500)
      .sign(key);
    expect((await call(p, body, { token: old })).status).toBe(401);
    expect((await call(p, body)).status).toBe(200);
  });

  it("validates bodies with a clear 400", async () => {
    const r = await call("/api/relay/v1/touch", { msisdn: "0701234567" });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json.issues)).toContain("msisdn");
  });
});

describe("relay API operations", () => {
  it("touch blocks like the Magic Link API and uses the relay's endpoint texts", async () => {
    const msisdn = freshMsisdn();
    const pending = call("/api/relay/v1/touch", { msisdn, timeoutSeconds: 30 });
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    expect(page.html).toContain("Other app"); // endpoint "other"
    await answer(link, "accept", page.csrf!);
    expect((await pending).json).toEqual({ code: "TOUCH_ACCEPTED" });
  });

  it("SMS OTP: the code sent verifies once; wrong codes burn the challenge after 3 tries", async () => {
    const msisdn = freshMsisdn();
    const started = await call("/api/relay/v1/sms-otp", { msisdn });
    expect(started.json.code).toBe("SENT");
    const challengeId = started.json.challengeId as string;
    const text = (await gatewayRequests(msisdn)).at(-1)!.text!;
    const code = text.match(/\d{6}/)![0];
    expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId, code })).json.result).toBe("accept");
    expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId, code })).json.result).toBe("expired");

    const again = await call("/api/relay/v1/sms-otp", { msisdn });
    const id2 = again.json.challengeId as string;
    const code2 = (await gatewayRequests(msisdn)).at(-1)!.text!.match(/\d{6}/)![0];
    const wrong = code2 === "000000" ? "111111" : "000000";
    for (let i = 0; i < 3; i++) expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId: id2, code: wrong })).json.result).toBe("reject");
    expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId: id2, code: code2 })).json.result).toBe("expired");
  });

  it("SMS OTP reports FAILED_DELIVERY and leaves no usable challenge", async () => {
    const r = await call("/api/relay/v1/sms-otp", { msisdn: freshMsisdn("0000") });
    expect(r.json).toEqual({ code: "FAILED_DELIVERY" });
  });

  it("TOTP: enrolled by the admin API, verified once per time step, locked after repeated failures", async () => {
    const msisdn = freshMsisdn();
    expect((await call("/api/relay/v1/subscriber", { msisdn })).json.totp).toBe(false);
    const enroll = await exports.default.fetch(
      new Request(`https://mfa.example.com/admin/v1/subscribers/${encodeURIComponent(msisdn)}/totp`, {
        method: "PUT",
        headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: "{}",
      }),
    );
    // exports.default runs with DEMO_MODE=false: the demo admin token must not work there.
    expect(enroll.status).toBe(401);
    const worker = (await import("../../workers/index")).default;
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const admin = (method: string, body?: string) =>
      worker.fetch(
        new Request(`https://mfa.example.com/admin/v1/subscribers/${encodeURIComponent(msisdn)}/totp`, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          ...(body !== undefined ? { body } : {}),
        }),
        testEnv,
        ctx,
      );
    const res = await admin("PUT", "{}");
    expect(res.status).toBe(201);
    const { secret, uri } = (await res.json()) as { secret: string; uri: string };
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect((await call("/api/relay/v1/subscriber", { msisdn })).json.totp).toBe(true);

    const code = await generate({ secret });
    expect((await call("/api/relay/v1/totp/verify", { msisdn, code })).json.result).toBe("accept");
    expect((await call("/api/relay/v1/totp/verify", { msisdn, code })).json.result).toBe("reject"); // replay
    for (let i = 0; i < 4; i++) await call("/api/relay/v1/totp/verify", { msisdn, code: "000000" });
    expect((await call("/api/relay/v1/totp/verify", { msisdn, code: "000000" })).json.result).toBe("locked");

    expect((await admin("PUT", '{"secret":"not base32!"}')).status).toBe(400);
    expect((await admin("DELETE")).status).toBe(204);
    expect((await admin("DELETE")).status).toBe(404);
    expect((await call("/api/relay/v1/subscriber", { msisdn })).json.totp).toBe(false);
  });

  it("challenge-response: the app's signature of the relay's challenge verifies once", async () => {
    const msisdn = freshMsisdn();
    expect((await call("/api/relay/v1/subscriber", { msisdn })).json).toEqual({ totp: false, app: false });
    const device = await activateDevice(msisdn);
    expect((await call("/api/relay/v1/subscriber", { msisdn })).json).toEqual({ totp: true, app: true });
    const code = await challengeResponseCode(seedFromBase32(device.seed), "482913");
    const verify = (challenge: string, c: string) => call("/api/relay/v1/challenge-response/verify", { msisdn, challenge, code: c });
    expect((await verify("482913", code === "00000000" ? "11111111" : "00000000")).json.result).toBe("reject");
    expect((await verify("482913", code)).json.result).toBe("accept");
    expect((await verify("482913", code)).json.result).toBe("reject"); // each challenge once
    expect((await verify("x", code)).status).toBe(400);
  });

  it("stores the TOTP seed encrypted, bound to the number", async () => {
    const msisdn = freshMsisdn();
    const worker = (await import("../../workers/index")).default;
    const res = await worker.fetch(
      new Request(`https://mfa.example.com/admin/v1/subscribers/${encodeURIComponent(msisdn)}/totp`, {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: '{"secret":"JBSWY3DPEHPK3PXP"}',
      }),
      testEnv,
      { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
    );
    expect(res.status).toBe(201);
    const { runInDurableObject } = await import("cloudflare:test");
    const stored = await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) => s.storage.get<{ seed: { iv: string; ct: string } }>("totpToken"));
    expect(stored!.seed.ct.length).toBeGreaterThan(20);
    // Neither the base32 text nor the raw seed bytes appear in what is stored.
    const raw = "48656c6c6f21deadbeef"; // JBSWY3DPEHPK3PXP decoded, hex
    expect(JSON.stringify(stored)).not.toContain("JBSWY3DPEHPK3PXP");
    const ctHex = [...atob(stored!.seed.ct.replace(/-/g, "+").replace(/_/g, "/"))].map((ch) => ch.charCodeAt(0).toString(16).padStart(2, "0")).join("");
    expect(ctHex).not.toContain(raw);
  });
});
