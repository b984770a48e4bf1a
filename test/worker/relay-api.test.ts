import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { generate } from "otplib";
import { beforeAll, describe, expect, it } from "vitest";
import { mintRelayToken } from "../../core/contracts/relay-token";
import { DEMO_ADMIN_TOKEN } from "../../workers/lib/admin-auth";
import { ADMIN_TOKEN } from "../support/keys";
import { challengeResponseCode, seedFromBase32, seedToBase32 } from "../../core/otp";
import { LEGACY_TOTP_TOKEN_CONTEXT, openSeed, sealSeed, totpTokenContext } from "../../core/seed-crypto";
import { sha256Hex } from "../../core/tokens";
import { activateDevice } from "./support/authenticator-app";
import { answer, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";

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

const EDGE = "https://mfa.example.com";

async function call(path: string, payload: unknown, opts: { token?: string | null; signingKey?: CryptoKey } = {}) {
  // Since issue 10 every call naming a number names the user too; here each number is its own user.
  const p = payload as Record<string, unknown>;
  const body = JSON.stringify(typeof p.msisdn === "string" && !("username" in p) ? { username: `user-${p.msisdn}`, ...p } : p);
  const token = opts.token === undefined ? await mintRelayToken(opts.signingKey ?? key, "r1", EDGE, "POST", path, body) : opts.token;
  const worker = (await import("../../workers/index")).default;
  const res = await worker.fetch(
    new Request(`${EDGE}${path}`, {
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
    const body = { username: "u", msisdn: "+46701234567" };
    expect((await call(p, body, { token: null })).status).toBe(401);
    expect((await call(p, body, { token: "garbage" })).status).toBe(401);
    expect((await call(p, body, { signingKey: otherKey })).json.reason).toMatch(/invalid token/);
    const unknown = await mintRelayToken(key, "r2", EDGE, "POST", p, JSON.stringify(body));
    expect((await call(p, body, { token: unknown })).json.reason).toBe("unknown relay");
    // Signed for another body: cannot be replayed with different content.
    const otherBody = await mintRelayToken(key, "r1", EDGE, "POST", p, JSON.stringify({ username: "u", msisdn: "+46700000000" }));
    expect((await call(p, body, { token: otherBody })).json.reason).toBe("token not bound to this request");
    const otherPath = await mintRelayToken(key, "r1", EDGE, "POST", "/api/relay/v1/touch", JSON.stringify(body));
    expect((await call(p, body, { token: otherPath })).status).toBe(401);
    const old = await new SignJWT({ htm: "POST", htu: p, bh: "x" })
      .setProtectedHeader({ alg: "ES256", kid: "r1" })
      .setIssuer("r1")
      .setAudience(EDGE)
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
    for (let i = 0; i < 3; i++)
      expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId: id2, code: wrong })).json.result).toBe("reject");
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
        // 20 bytes ("Hello!" 0xdeadbeef, twice): imported seeds must be 16-64 bytes.
        body: '{"secret":"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}',
      }),
      testEnv,
      { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
    );
    expect(res.status).toBe(201);
    const { runInDurableObject } = await import("cloudflare:test");
    const stored = await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) =>
      s.storage.get<{ seed: { iv: string; ct: string } }>("totpToken"),
    );
    expect(stored!.seed.ct.length).toBeGreaterThan(20);
    // Neither the base32 text nor the raw seed bytes appear in what is stored.
    const raw = "48656c6c6f21deadbeef"; // JBSWY3DPEHPK3PXP decoded, hex (each half of the seed)
    expect(JSON.stringify(stored)).not.toContain("JBSWY3DPEHPK3PXP");
    const ctHex = [...atob(stored!.seed.ct.replace(/-/g, "+").replace(/_/g, "/"))]
      .map((ch) => ch.charCodeAt(0).toString(16).padStart(2, "0"))
      .join("");
    expect(ctHex).not.toContain(raw);
  });
});

/** The admin API's TOTP enrolment for a number, through the demo admin token (testEnv). */
async function enrol(msisdn: string, body: unknown) {
  const worker = (await import("../../workers/index")).default;
  const res = await worker.fetch(
    new Request(`https://mfa.example.com/admin/v1/subscribers/${encodeURIComponent(msisdn)}/totp`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    testEnv,
    { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
  );
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

const storedToken = (msisdn: string) =>
  runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) => s.storage.get<{ seed: { iv: string; ct: string } }>("totpToken"));

describe("TOTP seeds: size, binding to the number, errors", () => {
  it("enrolment refuses imported secrets outside 16-64 bytes with a clear 400", async () => {
    const msisdn = freshMsisdn();
    for (const secret of ["JBSWY3DPEHPK3PXP" /* 10 bytes */, "A".repeat(25) /* not whole bytes */, "A".repeat(104) /* 65 bytes */]) {
      const r = await enrol(msisdn, { secret });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json.issues)).toMatch(/secret|base32/);
    }
    expect(JSON.stringify((await enrol(msisdn, { secret: "JBSWY3DPEHPK3PXP" })).json.issues)).toContain("16-64 bytes");
    expect((await enrol(msisdn, { secret: "A".repeat(26) })).status).toBe(201); // 16 bytes
    expect((await enrol(msisdn, { secret: "A".repeat(103) })).status).toBe(201); // 64 bytes
  });

  it("a stored token the check cannot use counts as a failed attempt; the relay gets reject, never a 500", async () => {
    const msisdn = freshMsisdn();
    const device = await activateDevice(msisdn);
    await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), async (_i, s) => {
      const short = await sealSeed(env.SEED_ENCRYPTION_KEY!, new Uint8Array(10).fill(1), totpTokenContext(msisdn));
      await s.storage.put("totpToken", { seed: short });
    });
    const right = await generate({ secret: device.seed });
    const wrong = right === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) {
      const r = await call("/api/relay/v1/totp/verify", { msisdn, code: wrong });
      expect(r.status).toBe(200);
      expect(r.json.result).toBe("reject");
    }
    expect((await call("/api/relay/v1/totp/verify", { msisdn, code: right })).json.result).toBe("locked");
  });

  it("the sealed seed is bound to its number: copied to another number it does not verify", async () => {
    const a = freshMsisdn();
    const b = freshMsisdn();
    const { secret } = (await enrol(a, {})).json as { secret: string };
    const sealed = await storedToken(a);
    expect(await openSeed(env.SEED_ENCRYPTION_KEY!, sealed!.seed, totpTokenContext(a))).toEqual(seedFromBase32(secret));
    await runInDurableObject(env.SUBSCRIBER.getByName(b), (_i, s) => s.storage.put("totpToken", sealed));
    const code = await generate({ secret });
    expect((await call("/api/relay/v1/totp/verify", { msisdn: b, code })).json.result).toBe("reject");
    expect((await call("/api/relay/v1/totp/verify", { msisdn: a, code })).json.result).toBe("accept");
  });

  it("a token sealed before the binding still verifies, and is re-sealed bound to its number", async () => {
    const msisdn = freshMsisdn();
    const seed = crypto.getRandomValues(new Uint8Array(20));
    const legacy = await sealSeed(env.SEED_ENCRYPTION_KEY!, seed, LEGACY_TOTP_TOKEN_CONTEXT);
    await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) => s.storage.put("totpToken", { seed: legacy }));
    const code = await generate({ secret: seedToBase32(seed) });
    expect((await call("/api/relay/v1/totp/verify", { msisdn, code })).json.result).toBe("accept");
    const resealed = await storedToken(msisdn);
    expect(await openSeed(env.SEED_ENCRYPTION_KEY!, resealed!.seed, totpTokenContext(msisdn))).toEqual(seed);
    await expect(openSeed(env.SEED_ENCRYPTION_KEY!, resealed!.seed, LEGACY_TOTP_TOKEN_CONTEXT)).rejects.toThrow();
  });
});

describe("SMS OTP guessing across challenges", () => {
  /** Starts a challenge and returns its id and the code the SMS carried. */
  async function smsOtp(msisdn: string) {
    const started = await call("/api/relay/v1/sms-otp", { msisdn });
    expect(started.json.code).toBe("SENT");
    const code = (await gatewayRequests(msisdn)).at(-1)!.text!.match(/\d{6}/)![0];
    return { challengeId: started.json.challengeId as string, code, wrong: code === "000000" ? "111111" : "000000" };
  }

  it("wrong codes count across challenges: the 5th locks the number's SMS OTP, not its Touch or offline codes", async () => {
    const msisdn = freshMsisdn();
    // 3 guesses burn the first challenge; a new challenge used to give 3 more, without end.
    const first = await smsOtp(msisdn);
    for (let i = 0; i < 3; i++) await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId: first.challengeId, code: first.wrong });
    const second = await smsOtp(msisdn);
    for (let i = 0; i < 2; i++) {
      expect(
        (await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId: second.challengeId, code: second.wrong })).json.result,
      ).toBe("reject");
    }
    // Locked: even the right code of the open challenge is not checked.
    expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId: second.challengeId, code: second.code })).json.result).toBe(
      "locked",
    );
    // No new challenge (and no SMS) while locked.
    const sent = (await gatewayRequests(msisdn)).length;
    expect((await call("/api/relay/v1/sms-otp", { msisdn })).json).toEqual({ code: "BAD_REQUEST", reason: "locked" });
    expect((await gatewayRequests(msisdn)).length).toBe(sent);
    const stored = await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) =>
      s.storage.get<{ failures: number; lockedUntil: number }>("smsOtpLock"),
    );
    expect(stored!.failures).toBe(5);
    expect(stored!.lockedUntil).toBeGreaterThan(Date.now());

    // Its own lock: offline codes still verify ...
    const { secret } = (await enrol(msisdn, {})).json as { secret: string };
    expect((await call("/api/relay/v1/totp/verify", { msisdn, code: await generate({ secret }) })).json.result).toBe("accept");
    // ... and Touch (SMS link) still signs in.
    const pending = call("/api/relay/v1/touch", { msisdn, timeoutSeconds: 30 });
    const link = await waitForLink(msisdn, 10_000, sent);
    await answer(link, "accept", (await openLink(link)).csrf!);
    expect((await pending).json).toEqual({ code: "TOUCH_ACCEPTED" });
  });

  it("a lock that ran out buys one guess, and the right code then resets the count", async () => {
    const msisdn = freshMsisdn();
    const sub = env.SUBSCRIBER.getByName(msisdn);
    // As if 5 wrong codes locked it a while ago and the lock has run out.
    await runInDurableObject(sub, (_i, s) => s.storage.put("smsOtpLock", { failures: 5, lockedUntil: Date.now() - 1 }));
    const one = await smsOtp(msisdn);
    expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId: one.challengeId, code: one.wrong })).json.result).toBe(
      "reject",
    );
    expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId: one.challengeId, code: one.code })).json.result).toBe(
      "locked",
    );
    await runInDurableObject(sub, (_i, s) => s.storage.put("smsOtpLock", { failures: 6, lockedUntil: Date.now() - 1 }));
    const two = await smsOtp(msisdn);
    expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId: two.challengeId, code: two.code })).json.result).toBe(
      "accept",
    );
    expect(await runInDurableObject(sub, (_i, s) => s.storage.get("smsOtpLock"))).toBeUndefined();
  });
});

describe("SMS OTP at rest and offline lockout vs. Touch", () => {
  it("stores a keyed MAC of the SMS code, not its bare SHA-256", async () => {
    const msisdn = freshMsisdn();
    const started = await call("/api/relay/v1/sms-otp", { msisdn });
    const code = (await gatewayRequests(msisdn)).at(-1)!.text!.match(/\d{6}/)![0];
    const stored = await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) => s.storage.get<Record<string, unknown>>("smsOtp"));
    const dump = JSON.stringify(stored);
    expect(dump).not.toContain(await sha256Hex(code));
    expect(dump).not.toContain(code);
    // Still verifies (once).
    const challengeId = started.json.challengeId as string;
    expect((await call("/api/relay/v1/sms-otp/verify", { msisdn, challengeId, code })).json.result).toBe("accept");
  });

  it("relay Touch works for a number whose offline codes are locked", async () => {
    const msisdn = freshMsisdn();
    const { secret } = (await enrol(msisdn, {})).json as { secret: string };
    const wrong = (await generate({ secret })) === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) await call("/api/relay/v1/totp/verify", { msisdn, code: wrong });
    expect((await call("/api/relay/v1/totp/verify", { msisdn, code: await generate({ secret }) })).json.result).toBe("locked");
    const pending = call("/api/relay/v1/touch", { msisdn, timeoutSeconds: 30 });
    const link = await waitForLink(msisdn, 10_000, (await gatewayRequests(msisdn)).length);
    await answer(link, "accept", (await openLink(link)).csrf!);
    expect((await pending).json).toEqual({ code: "TOUCH_ACCEPTED" });
  });
});
