import { env } from "cloudflare:workers";
import { randomToken } from "../../core/tokens";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exportJWK, generateKeyPair } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { relayPost } from "./support/relay-call";
import { signCompactJws } from "../../core/jws-sign";
import { activateDevice, appApi, joinDevice, pushMessages, type TestDevice } from "./support/authenticator-app";
import { freshMsisdn, gatewayRequests } from "./support/magic-link";

/**
 * Issue 14 item 1: a RADIUS SMS OTP for a number with an activated app goes to the app by push
 * first (the code inside the encrypted payload, decrypted here by the fake push service); the
 * SMS follows only after the endpoint's pushGraceSeconds (2 s on "app") unless a device
 * acknowledges the push, or at once when no push went through.
 */
let key: CryptoKey;
let testEnv: Env;
const EDGE = "https://mfa.example.com";
const GRACE_MS = 2000;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  key = pair.privateKey;
  const cfg = JSON.parse(env.MFA_CONFIG);
  cfg.relays = [
    { name: "r1", publicJwk: await exportJWK(pair.publicKey), endpoint: "app" },
    { name: "r2", publicJwk: await exportJWK(pair.publicKey), endpoint: "no-push" },
  ];
  testEnv = { ...env, MFA_CONFIG: JSON.stringify(cfg) } as Env;
});

let lines: string[];
beforeEach(() => {
  lines = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  }
});
afterEach(() => vi.restoreAllMocks());

async function relayCall(path: string, payload: Record<string, unknown>, relay = "r1") {
  const body = JSON.stringify({ username: `user-${String(payload.msisdn)}`, ...payload });
  const res = await relayPost({ testEnv, key, relay, edge: EDGE, path, body });
  return (await res.json()) as Record<string, unknown>;
}

const startOtp = (msisdn: string, relay = "r1") => relayCall("/api/relay/v1/sms-otp", { msisdn }, relay);
const verify = async (msisdn: string, challengeId: string, code: string) =>
  (await relayCall("/api/relay/v1/sms-otp/verify", { msisdn, challengeId, code })).result;

interface OtpPush {
  k: string;
  o: string;
  code: string;
  x: string;
}

/** The OTP pushes a device's push service decrypted. */
async function otpPushes(d: TestDevice): Promise<OtpPush[]> {
  if (!d.sub) return [];
  return (await pushMessages(d.sub.id)).map((m) => JSON.parse(m.payload ?? "{}") as OtpPush).filter((p) => p.k === "otp");
}

/** The login-code SMS a number got (activation SMS left out). */
async function codeSms(msisdn: string): Promise<string[]> {
  return (await gatewayRequests(msisdn)).map((r) => r.text ?? "").filter((t) => t.startsWith("Your login code"));
}

async function ack(d: TestDevice, challengeId: string, signWith: CryptoKey = d.keys.privateKey): Promise<Response> {
  const jws = await signCompactJws(signWith, {
    typ: "edge-mfa/device",
    jti: randomToken(16),
    iat: Math.floor(Date.now() / 1000),
    otpSeen: challengeId,
  });
  return appApi("device", { msisdn: d.msisdn, deviceId: d.deviceId, jws });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForCodeSms(msisdn: string, timeoutMs = 5000): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const sms = await codeSms(msisdn);
    if (sms.length > 0) return sms;
    await sleep(50);
  }
  return [];
}

describe("SMS OTP by push", () => {
  it("pushes the code to the app, sends no SMS once the device acknowledges it, and the code works once", async () => {
    const d = await activateDevice(freshMsisdn());
    const started = await startOtp(d.msisdn);
    expect(started).toMatchObject({ code: "SENT", delivery: "app" });
    const challengeId = started.challengeId as string;
    const [push] = await otpPushes(d);
    expect(push).toMatchObject({ k: "otp", o: challengeId });
    expect(push?.code).toMatch(/^\d{6}$/);
    expect(Number(push?.x)).toBeGreaterThan(Date.now());
    expect(await codeSms(d.msisdn)).toEqual([]); // within the grace

    const acked = await ack(d, challengeId);
    expect(await acked.json()).toEqual({ status: "otp_seen" });
    await sleep(GRACE_MS + 1000);
    expect(await codeSms(d.msisdn)).toEqual([]);
    // A second acknowledgement finds nothing owed.
    expect(await (await ack(d, challengeId)).json()).toEqual({ status: "otp_not_owed" });

    expect(await verify(d.msisdn, challengeId, push?.code ?? "")).toBe("accept");
    expect(await verify(d.msisdn, challengeId, push?.code ?? "")).toBe("expired");
    for (const l of lines) expect(l).not.toContain(push?.code);
  });

  it("sends the same code by SMS after the grace when no device acknowledges the push; either channel's code is single use", async () => {
    const d = await activateDevice(freshMsisdn());
    const started = await startOtp(d.msisdn);
    const challengeId = started.challengeId as string;
    const [push] = await otpPushes(d);
    await sleep(GRACE_MS / 2);
    expect(await codeSms(d.msisdn)).toEqual([]);
    const sms = await waitForCodeSms(d.msisdn);
    expect(sms).toEqual([`Your login code is ${push?.code}`]);
    // Too late to stop it: nothing owed any more.
    expect(await (await ack(d, challengeId)).json()).toEqual({ status: "otp_not_owed" });
    expect(await verify(d.msisdn, challengeId, push?.code ?? "")).toBe("accept");
    expect(await verify(d.msisdn, challengeId, push?.code ?? "")).toBe("expired");
    await sleep(500);
    expect(await codeSms(d.msisdn)).toHaveLength(1); // sent once
    for (const l of lines) expect(l).not.toContain(push?.code);
  });

  it("a code used within the grace leaves no SMS to send", async () => {
    const d = await activateDevice(freshMsisdn());
    const started = await startOtp(d.msisdn);
    const [push] = await otpPushes(d);
    expect(await verify(d.msisdn, started.challengeId as string, push?.code ?? "")).toBe("accept");
    await sleep(GRACE_MS + 1000);
    expect(await codeSms(d.msisdn)).toEqual([]);
  });

  it("an acknowledgement signed by another key, or for another challenge, does not stop the SMS", async () => {
    const d = await activateDevice(freshMsisdn());
    const started = await startOtp(d.msisdn);
    const other = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])) as CryptoKeyPair;
    expect((await ack(d, started.challengeId as string, other.privateKey)).status).toBe(403);
    expect(await (await ack(d, "A".repeat(22))).json()).toEqual({ status: "otp_not_owed" });
    expect(await waitForCodeSms(d.msisdn)).toHaveLength(1);
  });

  it("sends the SMS at once when the push fails, and when the device is gone (forgotten)", async () => {
    const failing = await activateDevice(freshMsisdn(), { pushMode: "fail" });
    const r1 = await startOtp(failing.msisdn);
    expect(r1).toMatchObject({ code: "SENT", delivery: "sms" });
    expect(await codeSms(failing.msisdn)).toHaveLength(1);
    await sleep(GRACE_MS + 500);
    expect(await codeSms(failing.msisdn)).toHaveLength(1); // the alarm finds nothing owed

    const gone = await activateDevice(freshMsisdn(), { pushMode: "gone" });
    const r2 = await startOtp(gone.msisdn);
    expect(r2).toMatchObject({ code: "SENT", delivery: "sms" });
    expect(await codeSms(gone.msisdn)).toHaveLength(1);
    expect(await env.SUBSCRIBER.getByName(gone.msisdn).devices()).toEqual([]);
    const code = (await codeSms(gone.msisdn))[0]?.match(/\d{6}/)?.[0] ?? "";
    expect(await verify(gone.msisdn, r2.challengeId as string, code)).toBe("accept");
  });

  it("pushes the code to every device of the number; one acknowledgement stops the SMS", async () => {
    const phone = await activateDevice(freshMsisdn(), { name: "Phone" });
    const tablet = await joinDevice(phone.msisdn, { name: "Tablet" });
    const started = await startOtp(phone.msisdn);
    const [a] = await otpPushes(phone);
    const [b] = await otpPushes(tablet);
    expect(a?.code).toMatch(/^\d{6}$/);
    expect(b).toEqual(a);
    expect(await (await ack(tablet, started.challengeId as string)).json()).toEqual({ status: "otp_seen" });
    await sleep(GRACE_MS + 1000);
    expect(await codeSms(phone.msisdn)).toEqual([]);
  });

  it("keeps the owed SMS sealed in storage (no code in clear) and sends it from the object's alarm", async () => {
    const d = await activateDevice(freshMsisdn());
    const started = await startOtp(d.msisdn);
    const [push] = await otpPushes(d);
    const stub = env.SUBSCRIBER.getByName(d.msisdn);
    const stored = await runInDurableObject(stub, async (_i, s) => {
      // The grace has passed for the object (as after a restart the alarm is still due).
      const otp = await s.storage.get<{ owedSms: { at: number } }>("smsOtp");
      if (otp) await s.storage.put("smsOtp", { ...otp, owedSms: { ...otp.owedSms, at: Date.now() - 1 } });
      return JSON.stringify(Object.fromEntries(await s.storage.list()));
    });
    expect(stored).toContain("owedSms");
    expect(stored).not.toContain(push?.code);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await codeSms(d.msisdn)).toEqual([`Your login code is ${push?.code}`]);
    expect(await runInDurableObject(stub, async (_i, s) => JSON.stringify(await s.storage.get("smsOtp")))).not.toContain("owedSms");
    expect(await verify(d.msisdn, started.challengeId as string, push?.code ?? "")).toBe("accept");
  });

  it("without an app, or on an endpoint without push, the SMS goes at once as before", async () => {
    const plain = freshMsisdn();
    expect(await startOtp(plain)).toMatchObject({ code: "SENT", delivery: "sms" });
    expect(await codeSms(plain)).toHaveLength(1);

    const d = await activateDevice(freshMsisdn());
    expect(await startOtp(d.msisdn, "r2")).toMatchObject({ code: "SENT", delivery: "sms" });
    expect(await codeSms(d.msisdn)).toHaveLength(1);
    expect(await otpPushes(d)).toEqual([]);
  });
});
