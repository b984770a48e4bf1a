import { describe, expect, it } from "vitest";
import { randomToken } from "../../core/tokens";
import { signCompactJws } from "../../core/jws-sign";
import { answer, callAuth, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";
import {
  APP,
  activateDevice,
  appApi,
  fetchChallenge,
  newDeviceKeys,
  publicJwk,
  sendAnswer,
  waitForPush,
} from "./support/authenticator-app";

const randomId = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .slice(0, 43);
const octet = () => Math.floor(Math.random() * 250) + 1;
const randomIp = () => `10.${octet()}.${octet()}.${octet()}`;

/** Junk an attacker can send for any number without a credential: made-up devices, tokens and signatures. */
async function junkCalls(msisdn: string, count: number, ip: () => string | undefined): Promise<number[]> {
  const keys = await newDeviceKeys();
  const jws = await signCompactJws(keys.privateKey, {
    typ: "edge-mfa/device",
    jti: randomToken(16),
    iat: Math.floor(Date.now() / 1000),
    remove: true,
  });
  const publicKey = await publicJwk(keys);
  const calls = Array.from({ length: count }, (_, i) => {
    switch (i % 4) {
      case 0:
        return appApi("pending", { msisdn, deviceId: randomId(), jws }, ip());
      case 1:
        return appApi("answer", { msisdn, deviceId: randomId(), jws }, ip());
      case 2:
        return appApi("device", { msisdn, deviceId: randomId(), jws }, ip());
      default:
        return appApi("activate", { msisdn, token: randomId(), code: "123456", publicKey, subscription: null }, ip());
    }
  });
  return (await Promise.all(calls)).map((r) => r.status);
}

describe("app API admission: junk cannot jam a number", () => {
  it("a flood of junk from one IP gets 429s, while the number's own app answers a sign-in (TOUCH_ACCEPTED)", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const attacker = randomIp();
    const pending = callAuth(msisdn, APP);
    const flood = junkCalls(msisdn, 250, () => attacker);
    const challengeId = await waitForPush(d.sub!);
    const { res, body } = await fetchChallenge(d, challengeId);
    expect(res.status).toBe(200);
    expect((await sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" })).status).toBe(200);
    expect(await (await pending).json()).toEqual({ code: "TOUCH_ACCEPTED" });
    const statuses = await flood;
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.every((s) => [403, 404, 429].includes(s))).toBe(true);
  });

  it("a flood spread over many IPs hits the per-number limit; the number's sign-in still works by SMS link", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const statuses = await junkCalls(msisdn, 450, randomIp);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await (await pending).json()).toEqual({ code: "TOUCH_ACCEPTED" });
    expect((await gatewayRequests(msisdn)).length).toBe(1);
  });

  it("refuses a malformed signature with 400 before any Durable Object is asked", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    for (const jws of ["not-a-jws", "a.b.c", `${"A".repeat(10)}.${"B".repeat(10)}.${"C".repeat(85)}`, "x".repeat(5000)]) {
      expect((await appApi("answer", { msisdn, deviceId: d.deviceId, jws })).status).toBe(400);
      expect((await appApi("device", { msisdn, deviceId: d.deviceId, jws })).status).toBe(400);
    }
  });
});
