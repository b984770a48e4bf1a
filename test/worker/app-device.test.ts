import { env } from "cloudflare:workers";
import { randomToken } from "../../core/tokens";
import { describe, expect, it } from "vitest";
import { signCompactJws } from "../../core/jws-sign";
import { callAuth, freshMsisdn } from "./support/magic-link";
import {
  APP,
  activateDevice,
  appApi,
  fetchChallenge,
  newDeviceKeys,
  sendAnswer,
  subscribe,
  waitForPush,
} from "./support/authenticator-app";

const now = () => Math.floor(Date.now() / 1000);

describe("signed device updates", () => {
  it("turns push on later for a device activated without it", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn, { pushMode: null });
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ push: false });
    const sub = await subscribe();
    const jws = await signCompactJws(d.keys.privateKey, {
      typ: "edge-mfa/device",
      jti: randomToken(16),
      iat: now(),
      subscription: { endpoint: sub.endpoint, keys: sub.keys },
    });
    const res = await appApi("device", { msisdn, deviceId: d.deviceId, jws });
    expect(await res.json()).toEqual({ status: "updated" });
    // The next sign-in is pushed to the new subscription.
    const pending = callAuth(msisdn, APP);
    const c = await waitForPush(sub);
    const { body } = await fetchChallenge(d, c);
    await sendAnswer(d, { c, n: body.nonce, d: "accept" });
    expect(await (await pending).json()).toEqual({ code: "TOUCH_ACCEPTED" });
  });

  it("refuses an update signed by another key or too old (replay window)", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const other = await newDeviceKeys();
    const forged = await signCompactJws(other.privateKey, { typ: "edge-mfa/device", jti: randomToken(16), iat: now(), remove: true });
    expect((await appApi("device", { msisdn, deviceId: d.deviceId, jws: forged })).status).toBe(403);
    const old = await signCompactJws(d.keys.privateKey, { typ: "edge-mfa/device", jti: randomToken(16), iat: now() - 600, remove: true });
    expect((await appApi("device", { msisdn, deviceId: d.deviceId, jws: old })).status).toBe(403);
    // An answer-type token is no device update either.
    const wrongType = await signCompactJws(d.keys.privateKey, { typ: "edge-mfa/answer", iat: now(), remove: true });
    expect((await appApi("device", { msisdn, deviceId: d.deviceId, jws: wrongType })).status).toBe(403);
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ deviceId: d.deviceId });
  });

  it("removes the device: it gets no pushes and its id is unknown", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const jws = await signCompactJws(d.keys.privateKey, { typ: "edge-mfa/device", jti: randomToken(16), iat: now(), remove: true });
    expect(await (await appApi("device", { msisdn, deviceId: d.deviceId, jws })).json()).toEqual({ status: "removed" });
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toBeNull();
    expect((await appApi("pending", { msisdn, deviceId: d.deviceId })).status).toBe(404);
  });
});
