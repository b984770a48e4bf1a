import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { LockoutState } from "../../core/offline-lockout";
import { maskMsisdn } from "../../core/msisdn";
import { challengeResponseCode, seedFromBase32, totpCode } from "../../core/otp";
import { sealSeed, totpTokenContext } from "../../core/seed-crypto";
import { KEYS, answer, callAuth, codeOf, freshMsisdn, openLink, waitForLink } from "./support/magic-link";
import { APP, activateDevice, fetchChallenge, sendAnswer, waitForPush } from "./support/authenticator-app";

function offline(path: string, body: unknown, key: string | null = KEYS.default) {
  return exports.default.fetch(
    new Request(`https://mfa.example.com/api/offline/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { "api-key": key } : {}) },
      body: JSON.stringify(body),
    }),
  );
}

describe("offline codes verified by the Subscriber object", () => {
  it("verifyTotp: the app's current code passes once; its time step cannot be used again", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const seed = seedFromBase32(d.seed);
    const stub = env.SUBSCRIBER.getByName(msisdn);
    const code = await totpCode(seed, Date.now());
    expect(await stub.verifyTotp(code)).toBe(true);
    expect(await stub.verifyTotp(code)).toBe(false);
    // The previous step's code is older than the one used: refused too.
    expect(await stub.verifyTotp(await totpCode(seed, Date.now() - 30_000))).toBe(false);
    // A wrong code and a number without a device fail.
    expect(await stub.verifyTotp(code === "000000" ? "111111" : "000000")).toBe(false);
    expect(await env.SUBSCRIBER.getByName(freshMsisdn()).verifyTotp(code)).toBe(false);
  });

  it("verifyTotp: the next step's code (clock drift) is accepted after the current one", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const seed = seedFromBase32(d.seed);
    const stub = env.SUBSCRIBER.getByName(msisdn);
    expect(await stub.verifyTotp(await totpCode(seed, Date.now()))).toBe(true);
    expect(await stub.verifyTotp(await totpCode(seed, Date.now() + 30_000))).toBe(true);
  });

  it("verifyChallengeResponse: right code for the challenge passes once", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const seed = seedFromBase32(d.seed);
    const stub = env.SUBSCRIBER.getByName(msisdn);
    const code = await challengeResponseCode(seed, "734019");
    expect(await stub.verifyChallengeResponse("734019", code)).toBe(true);
    expect(await stub.verifyChallengeResponse("734019", code)).toBe(false); // replay
    expect(await stub.verifyChallengeResponse("734020", code)).toBe(false);
    const other = await activateDevice(freshMsisdn());
    expect(await stub.verifyChallengeResponse("555111", await challengeResponseCode(seedFromBase32(other.seed), "555111"))).toBe(false);
  });

  it("a removed device's codes stop working", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const stub = env.SUBSCRIBER.getByName(msisdn);
    expect(await stub.forgetDevice(d.deviceId)).toBe(true);
    expect(await stub.verifyTotp(await totpCode(seedFromBase32(d.seed), Date.now()))).toBe(false);
  });
});

describe("edge API for the RADIUS relay", () => {
  it("POST /api/offline/totp and /challenge-response answer {valid}", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const seed = seedFromBase32(d.seed);
    const totp = await offline("totp", { msisdn, code: await totpCode(seed, Date.now()) });
    expect(totp.status).toBe(200);
    expect(await totp.json()).toEqual({ valid: true });
    expect(await (await offline("totp", { msisdn, code: "000000" })).json()).toEqual({ valid: false });
    const cr = await offline("challenge-response", { msisdn, challenge: "901234", code: await challengeResponseCode(seed, "901234") });
    expect(await cr.json()).toEqual({ valid: true });
  });

  it("needs a valid API key and a valid body", async () => {
    const msisdn = freshMsisdn();
    const noKey = await offline("totp", { msisdn, code: "123456" }, null);
    expect(noKey.status).toBe(400);
    expect(noKey.headers.get("x-mfa-reason")).toBe("missing_api_key");
    expect((await offline("totp", { msisdn, code: "123456" }, "nope")).headers.get("x-mfa-reason")).toBe("invalid_api_key");
    // Only endpoints that opted in (offlineCodes) may check codes: "other" did not.
    const notOptedIn = await offline("totp/other", { msisdn, code: "123456" }, KEYS.other);
    expect(notOptedIn.status).toBe(403);
    expect(notOptedIn.headers.get("x-mfa-reason")).toBe("offline_codes_disabled");
    // An unknown endpoint answers like a wrong key: names cannot be enumerated (issue 17 item 8).
    expect((await offline("totp/no-such-endpoint", { msisdn, code: "123456" }, "nope")).headers.get("x-mfa-reason")).toBe(
      "invalid_api_key",
    );
    const bad = await offline("totp", { msisdn: "123", code: "123456" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-mfa-reason")).toBe("invalid_parameter");
    expect((await offline("challenge-response", { msisdn, challenge: "x", code: "1" })).status).toBe(400);
  });
});

describe("online guessing of offline codes", () => {
  it("after 5 wrong codes in a minute even the right code is refused for a while", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const seed = seedFromBase32(d.seed);
    const stub = env.SUBSCRIBER.getByName(msisdn);
    const right = await totpCode(seed, Date.now());
    const wrong = right === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) expect(await stub.verifyTotp(wrong)).toBe(false);
    expect(await stub.verifyTotp(right)).toBe(false);
    expect(await stub.verifyChallengeResponse("123456", await challengeResponseCode(seed, "123456"))).toBe(false);
    // Once the minute's lock has passed (aged in storage), the right code works again.
    await ageLockout(msisdn, 61_000);
    expect(await stub.verifyTotp(await totpCode(seed, Date.now()))).toBe(true);
  });

  it("the lock grows: after waiting one out, the next wrong code locks again at once, for twice as long", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const seed = seedFromBase32(d.seed);
    const stub = env.SUBSCRIBER.getByName(msisdn);
    const wrong = async () => ((await totpCode(seed, Date.now())) === "000000" ? "111111" : "000000");
    for (let i = 0; i < 5; i++) expect((await stub.checkTotp(await wrong())).verdict).toBe("reject");
    expect((await stub.checkTotp(await wrong())).verdict).toBe("locked");
    await ageLockout(msisdn, 61_000);
    const sixth = await stub.checkTotp(await wrong());
    expect(sixth).toMatchObject({ verdict: "reject", lockout: { failures: 6, durationMs: 120_000 } });
    // Under the old 5-a-minute window this code would be checked (and could pass).
    expect((await stub.checkTotp(await totpCode(seed, Date.now()))).verdict).toBe("locked");
    await ageLockout(msisdn, 121_000);
    // A right code ends it: the count starts over.
    expect((await stub.checkTotp(await totpCode(seed, Date.now()))).verdict).toBe("accept");
    expect((await stub.checkTotp(await wrong())).lockout).toBeNull();
  });

  it("a stored seed that cannot be used counts as a wrong code, and the API answers 200, never 500", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const seed = seedFromBase32(d.seed);
    // An on-prem token of 10 bytes (accepted by enrolment before the length check): otplib throws on it.
    await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), async (_i, s) => {
      const short = await sealSeed(env.SEED_ENCRYPTION_KEY!, new Uint8Array(10).fill(7), totpTokenContext(msisdn));
      await s.storage.put("totpToken", { seed: short });
    });
    const right = await totpCode(seed, Date.now());
    const wrong = right === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) {
      const res = await offline("totp", { msisdn, code: wrong });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ valid: false });
    }
    // The failures were counted: even the app's right code is refused now.
    expect(await (await offline("totp", { msisdn, code: right })).json()).toEqual({ valid: false });
    await ageLockout(msisdn, 61_000);
    // The app's own seed still works next to the broken token.
    expect(await (await offline("totp", { msisdn, code: await totpCode(seed, Date.now()) })).json()).toEqual({ valid: true });
  });

  it("a seed that fails to decrypt (e.g. after a key change) is a counted failure, not a 500", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), async (_i, s) => {
      const devices = (await s.storage.get<Record<string, { seed: { iv: string; ct: string } }>>("devices"))!;
      const dev = devices[d.deviceId]!;
      devices[d.deviceId] = { ...dev, seed: { ...dev.seed, ct: dev.seed.ct.replace(/^./, (ch) => (ch === "A" ? "B" : "A")) } };
      await s.storage.put("devices", devices);
    });
    const code = await totpCode(seedFromBase32(d.seed), Date.now());
    for (let i = 0; i < 5; i++) {
      const res = await offline("totp", { msisdn, code });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ valid: false });
    }
    const cr = await offline("challenge-response", { msisdn, challenge: "901234", code: "12345678" });
    expect(cr.status).toBe(200);
    expect((await env.SUBSCRIBER.getByName(msisdn).checkTotp(code)).verdict).toBe("locked");
  });

  it("a number whose offline codes are locked still signs in by SMS link and by push", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const stub = env.SUBSCRIBER.getByName(msisdn);
    for (let i = 0; i < 5; i++) await stub.checkTotp("000000");
    expect((await stub.checkTotp(await totpCode(seedFromBase32(d.seed), Date.now()))).verdict).toBe("locked");
    // Push (app endpoint): the app's Accept counts.
    const pushed = callAuth(msisdn, APP);
    const c = await waitForPush(d.sub!);
    const { body } = await fetchChallenge(d, c);
    await sendAnswer(d, { c, n: body.nonce, d: "accept" });
    expect(await codeOf(pushed)).toBe("TOUCH_ACCEPTED");
    // SMS link (default endpoint, no push).
    const other = freshMsisdn();
    const s2 = env.SUBSCRIBER.getByName(other);
    for (let i = 0; i < 5; i++) await s2.checkTotp("000000");
    const pending = callAuth(other);
    const link = await waitForLink(other);
    await answer(link, "accept", (await openLink(link)).csrf!);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });
});

describe("the offline API: opt-in endpoints only, every check audited", () => {
  it("an endpoint without offlineCodes can neither check nor lock a number's codes", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    for (let i = 0; i < 10; i++) expect((await offline("totp/other", { msisdn, code: "000000" }, KEYS.other)).status).toBe(403);
    expect((await offline("challenge-response/other", { msisdn, challenge: "901234", code: "12345678" }, KEYS.other)).status).toBe(403);
    const code = await totpCode(seedFromBase32(d.seed), Date.now());
    expect(await (await offline("totp", { msisdn, code })).json()).toEqual({ valid: true });
  });

  it("writes an audit row per check (masked number, result, endpoint; never the code) and one when a lockout starts", async () => {
    // Masked numbers keep only the last two digits: this suffix keeps other tests' rows apart.
    const msisdn = freshMsisdn("9942");
    const d = await activateDevice(msisdn);
    const seed = seedFromBase32(d.seed);
    const right = await totpCode(seed, Date.now());
    const wrong = right === "000000" ? "111111" : "000000";
    await offline("totp", { msisdn, code: right });
    for (let i = 0; i < 5; i++) await offline("totp", { msisdn, code: wrong });
    await offline("challenge-response", { msisdn, challenge: "901234", code: await challengeResponseCode(seed, "901234") });
    const masked = maskMsisdn(msisdn);
    type Row = { endpoint: string; channel: string; result: string; msisdn: string; detail: string | null };
    let rows: Row[] = [];
    let offlineRows: Row[] = [];
    for (let i = 0; i < 100 && offlineRows.length < 8; i++) {
      rows = (await env.DB.prepare("SELECT * FROM audit_log WHERE msisdn = ? AND kind = 'auth' ORDER BY id").bind(masked).all<Row>())
        .results;
      offlineRows = rows.filter((r) => r.channel.startsWith("offline-"));
      if (offlineRows.length < 8) await new Promise((r) => setTimeout(r, 50)); // written after the response
    }
    expect(offlineRows.map((r) => `${r.channel}:${r.result}`)).toEqual([
      "offline-totp:accept",
      ...Array(4).fill("offline-totp:reject"),
      "offline-totp:reject",
      "offline-lockout:LOCKED",
      "offline-challenge-response:locked",
    ]);
    for (const r of offlineRows) expect(r.endpoint).toBe("default");
    expect(JSON.parse(offlineRows.find((r) => r.channel === "offline-lockout")!.detail!)).toMatchObject({ failures: 5, lockSeconds: 60 });
    expect(JSON.stringify(rows)).not.toContain(right);
    expect(JSON.stringify(rows)).not.toContain(msisdn);
  });
});

/** Moves a number's offline-code lock `ms` into the past, as if that time had passed. */
async function ageLockout(msisdn: string, ms: number) {
  await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), async (_i, s) => {
    const lock = (await s.storage.get<LockoutState>("offlineLock"))!;
    await s.storage.put("offlineLock", { ...lock, lockedUntil: lock.lockedUntil - ms });
  });
}
