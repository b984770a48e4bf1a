import { env } from "cloudflare:workers";
import { randomToken } from "../../core/tokens";
import { describe, expect, it } from "vitest";
import { signCompactJws } from "../../core/jws-sign";
import { callAuth, codeOf, freshMsisdn } from "./support/magic-link";
import {
  APP,
  activateDevice,
  appApi,
  fetchChallenge,
  newDeviceKeys,
  sendAnswer,
  subscribe,
  waitForPush,
  appRead,
  signedRead,
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
    expect((await appRead(d, "pending")).status).toBe(404);
  });
});

// A device id shows in the audit log and the admin console: it must read nothing on its own.
describe("signed reads: the device id alone is no credential", () => {
  it("pending, devices and a challenge's details need the device's signature, for that read, fresh", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const pending = callAuth(msisdn, APP);
    const challengeId = await waitForPush(d.sub!);
    const ref = { msisdn, deviceId: d.deviceId };
    // The id alone (the app's earlier unsigned body): malformed.
    for (const read of ["pending", "devices"] as const) expect((await appApi(read, ref)).status).toBe(400);
    expect((await appApi("challenge", { ...ref, challengeId })).status).toBe(400);
    // Signed by another key, for another read, another challenge, or too old: 403, never the
    // 404 that would make the app forget itself.
    const stranger = { ...d, keys: await newDeviceKeys() };
    const stale = Math.floor(Date.now() / 1000) - 10 * 60;
    const refused = [
      appApi("pending", await signedRead(stranger, "pending")),
      appApi("pending", await signedRead(d, "devices")),
      appApi("devices", await signedRead(d, "pending")),
      appApi("pending", await signedRead(d, "pending", undefined, stale)),
      appApi("challenge", { ...(await signedRead(stranger, "challenge", challengeId)), challengeId }),
      appApi("challenge", { ...(await signedRead(d, "challenge", randomToken())), challengeId }),
      appApi("challenge", { ...(await signedRead(d, "pending")), challengeId }),
    ];
    for (const res of await Promise.all(refused)) {
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: "bad_signature" });
    }
    // The device's own reads work, and the refused challenge reads took no nonce from it.
    expect(await (await appRead(d, "pending")).json()).toMatchObject({ challenges: [challengeId] });
    expect((await appRead(d, "devices")).status).toBe(200);
    const { body } = await fetchChallenge(d, challengeId);
    await appApi("challenge", { ...(await signedRead(stranger, "challenge", challengeId)), challengeId });
    expect((await sendAnswer(d, { c: challengeId, n: body.nonce, d: "accept" })).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });
});
