import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { challengeResponseCode, seedFromBase32, totpCode } from "../../workers/lib/otp";
import { KEYS, freshMsisdn } from "./helpers";
import { activateDevice } from "./app-helpers";

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
    expect((await offline("totp/other", { msisdn, code: "123456" }, KEYS.other)).status).toBe(200);
    // An unknown endpoint answers like a wrong key: names cannot be enumerated (issue 17 item 8).
    expect((await offline("totp/no-such-endpoint", { msisdn, code: "123456" }, "nope")).headers.get("x-mfa-reason")).toBe("invalid_api_key");
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
    // Once the minute window has passed (aged in storage), the right code works again.
    const { runInDurableObject } = await import("cloudflare:test");
    await runInDurableObject(stub, async (_i, s) => {
      const fails = (await s.storage.get<number[]>("offlineFails"))!;
      await s.storage.put("offlineFails", fails.map((t) => t - 61_000));
    });
    expect(await stub.verifyTotp(await totpCode(seed, Date.now()))).toBe(true);
  });
});
