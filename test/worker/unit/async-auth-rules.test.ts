import { describe, expect, it } from "vitest";
import { AsyncAuthRequestSchema, AsyncWaitQuerySchema, RESULT_RETENTION_SECONDS } from "../../../core/contracts/async-auth";
import { WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_DELAYS_MS, nextWebhookAttempt } from "../../../core/webhook-retry";
import { newSigningSecret, parseSigningSecret, signWebhook, verifyWebhook } from "../../../core/webhook-signature";
import { WebhookSchema, webhookUrlRefusal } from "../../../workers/config/schema";
import type { AsyncAuthInit } from "../../../workers/objects/async-auth/contract";
import type { SessionInit } from "../../../workers/objects/auth-session/contract";
import { create, finish } from "../../../workers/objects/session/transitions";
import { BACKSTOP_MARGIN_MS, attempted, created, finished, nextWake, readable } from "../../../workers/objects/async-auth/state";

describe("webhook signatures (Standard Webhooks)", () => {
  // The convention's published test vector (standard-webhooks spec, "Example").
  const SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const SPEC_TS = 1614265330;
  const SPEC_BODY = '{"test": 2432232314}';
  const SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

  it("matches the convention's published example", async () => {
    const key = parseSigningSecret(SPEC_SECRET);
    expect(key).not.toBeNull();
    expect(await signWebhook(key ?? new Uint8Array(), SPEC_ID, SPEC_TS, SPEC_BODY)).toBe(SPEC_SIGNATURE);
    const headers = { id: SPEC_ID, timestamp: String(SPEC_TS), signature: SPEC_SIGNATURE };
    expect(await verifyWebhook(SPEC_SECRET, headers, SPEC_BODY, SPEC_TS + 10)).toEqual({ ok: true });
  });

  it("refuses a changed body, id or timestamp, a stale timestamp, missing headers and a bad secret", async () => {
    const secret = newSigningSecret();
    const key = parseSigningSecret(secret) ?? new Uint8Array();
    const now = 1_800_000_000;
    const signature = await signWebhook(key, "msg_1", now, "{}");
    const ok = { id: "msg_1", timestamp: String(now), signature };
    expect(await verifyWebhook(secret, ok, "{}", now)).toEqual({ ok: true });
    expect(await verifyWebhook(secret, ok, "{ }", now)).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifyWebhook(secret, { ...ok, id: "msg_2" }, "{}", now)).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifyWebhook(secret, { ...ok, timestamp: String(now + 1) }, "{}", now)).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifyWebhook(secret, ok, "{}", now + 301)).toEqual({ ok: false, reason: "stale_timestamp" });
    expect(await verifyWebhook(secret, { ...ok, signature: null }, "{}", now)).toEqual({ ok: false, reason: "missing_headers" });
    expect(await verifyWebhook("not-a-secret", ok, "{}", now)).toEqual({ ok: false, reason: "bad_secret" });
    // During a rotation several signatures come, space-separated: one valid is enough.
    expect(await verifyWebhook(secret, { ...ok, signature: `v1,AAAA ${signature}` }, "{}", now)).toEqual({ ok: true });
  });

  it("secrets are whsec_ + base64 of 24-64 bytes", () => {
    expect(parseSigningSecret(newSigningSecret())?.length).toBe(32);
    expect(parseSigningSecret(`whsec_${btoa("x".repeat(23))}`)).toBeNull();
    expect(parseSigningSecret(`whsec_${btoa("x".repeat(65))}`)).toBeNull();
    expect(parseSigningSecret(btoa("x".repeat(32)))).toBeNull();
    expect(parseSigningSecret("whsec_!!!")).toBeNull();
  });
});

describe("webhook settings", () => {
  it("https anywhere; plain http only to loopback, delivered only in DEMO_MODE", () => {
    const secret = { secret: "HOOK_SECRET" };
    expect(WebhookSchema.safeParse({ url: "https://hooks.example.com/mfa", signingSecret: secret }).success).toBe(true);
    expect(WebhookSchema.safeParse({ url: "http://localhost:9000/", signingSecret: secret }).success).toBe(true);
    expect(WebhookSchema.safeParse({ url: "http://hooks.example.com/mfa", signingSecret: secret }).success).toBe(false);
    expect(WebhookSchema.safeParse({ url: "https://hooks.example.com/mfa", signingSecret: "whsec_x" }).success).toBe(false);
    expect(webhookUrlRefusal("https://hooks.example.com/mfa", false)).toBeNull();
    expect(webhookUrlRefusal("http://localhost:9000/", true)).toBeNull();
    expect(webhookUrlRefusal("http://localhost:9000/", false)).toMatch(/DEMO_MODE/);
    expect(webhookUrlRefusal("http://10.0.0.1/", true)).toMatch(/https/);
  });

  it("outside DEMO_MODE, never posts to a private network or a metadata service, however the address is written", () => {
    const internal = [
      "https://169.254.169.254/latest/meta-data",
      "https://2852039166/latest/meta-data", // 169.254.169.254 as one number
      "https://0xa.1/", // 10.0.0.1
      "https://10.1.2.3/",
      "https://172.16.0.1/",
      "https://192.168.1.1./",
      "https://100.64.0.1/",
      "https://0.0.0.0/",
      "https://[::]/",
      "https://[fd00::1]/",
      "https://[fe80::1]/",
      "https://[::ffff:10.0.0.1]/",
      "https://[::ffff:169.254.169.254]/",
      "https://printer.local/",
      "https://metadata.google.internal/",
    ];
    for (const url of internal) expect(webhookUrlRefusal(url, false), url).toMatch(/private-network host/);
    // DEMO_MODE (a developer's machine) delivers anywhere https; loopback stays the tests' local receiver.
    expect(webhookUrlRefusal("https://10.0.0.5/hook", true)).toBeNull();
    const delivered = [
      "https://hooks.example.com/",
      "https://8.8.8.8/",
      "https://172.32.0.1/",
      "https://[2606:4700::1111]/",
      "https://127.0.0.1:9443/",
    ];
    for (const url of delivered) expect(webhookUrlRefusal(url, false), url).toBeNull();
  });
});

describe("retry schedule", () => {
  it("backs off over about 27.6 hours, then gives up", () => {
    expect(WEBHOOK_MAX_ATTEMPTS).toBe(8);
    const total = WEBHOOK_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(total / 3_600_000).toBeCloseTo(27.6, 1);
    for (let i = 1; i < WEBHOOK_RETRY_DELAYS_MS.length; i++)
      expect(WEBHOOK_RETRY_DELAYS_MS[i] ?? 0).toBeGreaterThanOrEqual(WEBHOOK_RETRY_DELAYS_MS[i - 1] ?? 0);
    expect(nextWebhookAttempt(1, 0)).toBe(5_000);
    expect(nextWebhookAttempt(WEBHOOK_MAX_ATTEMPTS - 1, 0)).toBe(10 * 3_600_000);
    expect(nextWebhookAttempt(WEBHOOK_MAX_ATTEMPTS, 0)).toBeNull();
  });
});

describe("async state", () => {
  const init: AsyncAuthInit = {
    id: "a".repeat(43),
    endpoint: "default",
    keyName: "main",
    msisdn: "+467******99",
    session: "s".repeat(64),
    sessionId: "x".repeat(64),
    channel: "sms",
    createdAt: 1_000,
    deadline: 31_000,
    status: "pending",
  };

  it("pending until the outcome; the backstop alarm is a little after the deadline", () => {
    const state = created(init, null, "msg_1", 1_000);
    expect(state.result).toBeNull();
    expect(nextWake(state)).toBe(31_000 + BACKSTOP_MARGIN_MS);
    expect(readable(state, 10 ** 12)).toBe(true);
  });

  it("the first outcome counts; a later one changes nothing", () => {
    const done = finished(created(init, null, "msg_1", 1_000), { status: "accepted" }, "msg_1", 5_000);
    expect(finished(done, { status: "rejected" }, "msg_2", 6_000)).toBe(done);
    expect(done.webhook).toEqual({ state: "due", msgId: "msg_1", attempts: 0, nextAt: 5_000 });
    expect(done.purgeAt).toBe(5_000 + RESULT_RETENTION_SECONDS * 1000);
    expect(readable(done, 5_000 + RESULT_RETENTION_SECONDS * 1000)).toBe(false);
  });

  it("an outcome that came before create() (or a start that already ended) is the result", () => {
    expect(created(init, { status: "failed_delivery" }, "m", 2_000).result?.status).toBe("failed_delivery");
    expect(created({ ...init, status: "failed_delivery" }, null, "m", 2_000).result?.status).toBe("failed_delivery");
  });

  it("webhook attempts: back-off, delivered keeps the id, a final refusal gives up at once", () => {
    const due = { state: "due" as const, msgId: "msg_1", attempts: 0, nextAt: 0 };
    const failed = attempted(due, { ok: false, error: "HTTP 500" }, 100);
    expect(failed).toEqual({ state: "due", msgId: "msg_1", attempts: 1, nextAt: 5_100, lastError: "HTTP 500" });
    if (failed.state !== "due") throw new Error("unreachable");
    expect(attempted(failed, { ok: true }, 200)).toEqual({ state: "delivered", msgId: "msg_1", attempts: 2 });
    expect(attempted(due, { ok: false, error: "http", final: true }, 0)).toMatchObject({ state: "given_up", attempts: 1 });
    let state: ReturnType<typeof attempted> = due;
    for (let i = 0; i < WEBHOOK_MAX_ATTEMPTS && state.state === "due"; i++) state = attempted(state, { ok: false, error: "x" }, 0);
    expect(state).toMatchObject({ state: "given_up", attempts: WEBHOOK_MAX_ATTEMPTS });
  });

  it("the alarm: audit row and webhook first, the purge only once nothing is owed", () => {
    const done = finished(created(init, null, "msg_1", 1_000), { status: "accepted" }, "msg_1", 5_000);
    expect(nextWake(done)).toBe(5_000); // audit row due
    const audited = { ...done, audited: true };
    expect(nextWake(audited)).toBe(5_000); // first attempt due
    expect(nextWake({ ...audited, webhook: { state: "due", msgId: "m", attempts: 3, nextAt: 9_999_999_999 } })).toBe(9_999_999_999);
    expect(nextWake({ ...audited, webhook: { state: "none" } })).toBe(done.purgeAt);
  });
});

describe("request body", () => {
  it("the blocking call's rules; touch-timeout and match-number also as JSON numbers", () => {
    expect(AsyncAuthRequestSchema.parse({ msisdn: "+46701234567", "touch-timeout": 60, "match-number": 42 })).toMatchObject({
      msisdn: "+46701234567",
      "touch-timeout": 60,
      "match-number": 42,
    });
    expect(AsyncAuthRequestSchema.safeParse({ msisdn: "+46701234567", "touch-timeout": 301 }).success).toBe(false);
    expect(AsyncAuthRequestSchema.safeParse({ msisdn: "+46701234567", "touch-timeout": 60.5 }).success).toBe(false);
    expect(AsyncAuthRequestSchema.safeParse([]).success).toBe(false);
    expect(AsyncWaitQuerySchema.safeParse({ wait: "30" }).success).toBe(true);
    expect(AsyncWaitQuerySchema.safeParse({ wait: "31" }).success).toBe(false);
    expect(AsyncWaitQuerySchema.safeParse({ wait: "-1" }).success).toBe(false);
  });
});

describe("the session tells its async object", () => {
  const init: SessionInit = {
    name: "n".repeat(64),
    msisdn: "+46701234567",
    endpoint: "default",
    texts: { sms: "", title: "", authentication: "", touchAccept: "", touchReject: "", buttonAccept: "", buttonReject: "" },
    smsText: "",
    link: "https://mfa.example.com/m/x",
    timeoutMs: 30_000,
    tombstoneMs: 600_000,
    leaseShard: null,
    app: { activation: false, push: null, matchNumber: null, callerShowsNumber: false },
  };

  it("on finish, with the answering device; a blocking call's session tells no one", () => {
    const by = { deviceId: "d1", name: "Phone" };
    const told = finish(create({ ...init, notify: "async-id" }, 0, { csrf: "c", choices: null }), "accepted", 1_000, by);
    expect(told.effects).toContainEqual({ kind: "notify_async", asyncName: "async-id", status: "accepted", answeredBy: by });
    const blocking = finish(create(init, 0, { csrf: "c", choices: null }), "expired", 1_000);
    expect(blocking.effects.map((e) => e.kind)).not.toContain("notify_async");
  });
});
