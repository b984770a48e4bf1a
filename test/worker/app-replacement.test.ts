import { env } from "cloudflare:workers";
import { randomToken } from "../../core/tokens";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signCompactJws } from "../../core/jws-sign";
import { challengeResponseCode, seedFromBase32, totpCode } from "../../core/otp";
import { answer, callAuth, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";
import {
  APP,
  activateDevice,
  activationTokenFrom,
  appApi,
  fetchChallenge,
  newDeviceKeys,
  pushMessages,
  publicJwk,
  subscribe,
  waitForPush,
  type TestDevice,
  appRead,
} from "./support/authenticator-app";

const iat = () => Math.floor(Date.now() / 1000);

/** A second phone activates for a number that already has a device (while a sign-in is pending). */
async function requestReplacement(msisdn: string) {
  const earlier = (await gatewayRequests(msisdn)).length;
  const pending = callAuth(msisdn, APP);
  const link = await waitForLink(msisdn, 10_000, earlier); // the push fallback, after the grace period
  const { token, code } = await activationTokenFrom(link);
  const keys = await newDeviceKeys();
  const sub = await subscribe();
  const res = await appApi("activate", {
    msisdn,
    token,
    code,
    publicKey: await publicJwk(keys),
    subscription: { endpoint: sub.endpoint, keys: sub.keys },
  });
  const claim = async () =>
    appApi("claim", {
      msisdn,
      deviceId: body.deviceId,
      jws: await signCompactJws(keys.privateKey, { typ: "edge-mfa/device", jti: randomToken(16), iat: iat(), claim: true }),
    });
  const body = (await res.json()) as { status: string; deviceId: string; effectiveAt: number };
  const finish = async () => {
    await answer(link, "reject", (await openLink(link)).csrf!);
    await pending;
  };
  return { res, body, keys, claim, finish, link };
}

async function auditActions(since: number): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT action FROM audit_log WHERE actor = 'authenticator-app' AND at >= ? ORDER BY id")
    .bind(since)
    .all<{ action: string }>();
  return results.map((r) => r.action);
}

const refuse = async (d: TestDevice) =>
  appApi("device", {
    msisdn: d.msisdn,
    deviceId: d.deviceId,
    jws: await signCompactJws(d.keys.privateKey, { typ: "edge-mfa/device", jti: randomToken(16), iat: iat(), refuseReplacement: true }),
  });

// Several devices per number (issue 14): a new device no longer replaces the number's device,
// it joins its devices; the protection stays: announced, refusable within the window.
describe("a new device joining a number that has a device", () => {
  it("the old device is notified, keeps working during the grace window, and can refuse", async () => {
    const msisdn = freshMsisdn();
    const started = Date.now();
    const old = await activateDevice(msisdn);
    const r = await requestReplacement(msisdn);
    expect(r.res.status).toBe(202);
    expect(r.body).toMatchObject({ status: "replacement_pending", deviceId: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(r.body.effectiveAt).toBeGreaterThanOrEqual(started + 86_400_000); // default grace: a day
    expect(r.body).not.toHaveProperty("seed"); // no seed before it takes over

    // The old device got a push saying so, and sees the request when the app asks.
    const pushes = (await pushMessages(old.sub!.id)).map((m) => JSON.parse(m.payload!) as Record<string, string>);
    expect(pushes).toContainEqual({ r: "replacement" });
    const pending = (await (await appRead(old, "pending")).json()) as { replacement?: unknown };
    expect(pending.replacement).toEqual({ name: "Phone", requestedAt: expect.any(Number), effectiveAt: r.body.effectiveAt });

    // Nothing changed hands yet: the new device waits, the old one is still the device.
    expect((await r.claim()).status).toBe(409);
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ deviceId: old.deviceId });

    // Refusal, signed by the old device's key (another key cannot refuse).
    const stranger = { ...old, keys: await newDeviceKeys() };
    expect((await refuse(stranger)).status).toBe(403);
    expect(await (await refuse(old)).json()).toEqual({ status: "replacement_refused" });
    expect((await r.claim()).status).toBe(404);
    expect((await appRead({ msisdn, deviceId: r.body.deviceId, keys: r.keys }, "pending")).status).toBe(404);
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ deviceId: old.deviceId });
    await r.finish();
    expect(await auditActions(started)).toEqual([
      "app_device_activated",
      "app_device_replacement_requested",
      "app_device_replacement_refused",
    ]);
  });

  it("without refusal the new device joins after the window; the old device, its challenges and replay state stay", async () => {
    const msisdn = freshMsisdn();
    const started = Date.now();
    const old = await activateDevice(msisdn);
    const subscriber = env.SUBSCRIBER.getByName(msisdn);
    // Replay state of the old device: a used TOTP step and a used challenge-response.
    const usedCode = await totpCode(seedFromBase32(old.seed), Date.now());
    expect(await subscriber.verifyTotp(usedCode)).toBe(true);
    expect(await subscriber.verifyChallengeResponse("482913", await challengeResponseCode(seedFromBase32(old.seed), "482913"))).toBe(true);

    const r = await requestReplacement(msisdn);
    expect(r.res.status).toBe(202);
    // The pending sign-in's challenge was pushed to the old device.
    const challengeId = await waitForPush(old.sub!);
    expect((await fetchChallenge(old, challengeId)).res.status).toBe(200);

    // The window passes (aged in storage rather than waited for).
    await runInDurableObject(subscriber, async (_i, state) => {
      const rep = (await state.storage.get<{ effectiveAt: number }>("replacement"))!;
      await state.storage.put("replacement", { ...rep, effectiveAt: Date.now() - 1 });
    });
    const claimed = await r.claim();
    expect(claimed.status).toBe(200);
    const { seed } = (await claimed.json()) as { seed: string };
    expect(seed).toMatch(/^[A-Z2-7]{32}$/);
    expect(seed).not.toBe(old.seed);
    expect(await subscriber.device()).toMatchObject({ deviceId: r.body.deviceId }); // the newest
    expect((await subscriber.devices()).map((d) => d.deviceId)).toEqual([old.deviceId, r.body.deviceId]);

    // Both devices see the pending challenge; the old device's replay state still holds.
    expect((await appRead(old, "pending")).status).toBe(200);
    expect((await appRead({ msisdn, deviceId: r.body.deviceId, keys: r.keys }, "challenge", challengeId)).status).toBe(200);
    expect(await subscriber.verifyTotp(usedCode)).toBe(false);
    expect(await subscriber.verifyChallengeResponse("482913", await challengeResponseCode(seedFromBase32(seed), "482913"))).toBe(false);
    // The new seed's codes work; a repeated claim returns the same seed (a lost answer is not fatal).
    expect(await subscriber.verifyTotp(await totpCode(seedFromBase32(seed), Date.now()))).toBe(true);
    expect(await (await r.claim()).json()).toEqual({ status: "activated", seed });

    await r.finish();
    expect(await auditActions(started)).toEqual(["app_device_activated", "app_device_replacement_requested", "app_device_replaced"]);
  });

  it("a join still waiting is dropped when the number's last device goes: nobody is left to refuse it", async () => {
    const msisdn = freshMsisdn();
    const old = await activateDevice(msisdn);
    const subscriber = env.SUBSCRIBER.getByName(msisdn);
    const r = await requestReplacement(msisdn);
    expect(r.body.status).toBe("replacement_pending");
    await r.finish();
    // The window has passed unrefused (aged in storage), and then the number's only device is
    // removed (as the operator's removeDevice does) before the join was claimed.
    await runInDurableObject(subscriber, async (_i, state) => {
      const rep = (await state.storage.get<{ effectiveAt: number }>("replacement"))!;
      await state.storage.put("replacement", { ...rep, effectiveAt: Date.now() - 1 });
    });
    expect(await subscriber.removeDevice(old.deviceId)).toBeTruthy();
    await runInDurableObject(subscriber, async (_i, state) => {
      expect(await state.storage.get("replacement")).toBeUndefined();
    });
    const claimed = await r.claim();
    expect(claimed.status).toBe(404);
    expect(await subscriber.devices()).toEqual([]);
  });

  it("a join stored before that rule, on a number with no device left, is dropped when claimed", async () => {
    const msisdn = freshMsisdn();
    const old = await activateDevice(msisdn);
    const subscriber = env.SUBSCRIBER.getByName(msisdn);
    const r = await requestReplacement(msisdn);
    await r.finish();
    // As an earlier release left it: the device gone, the join kept, its window passed.
    await runInDurableObject(subscriber, async (_i, state) => {
      const rep = (await state.storage.get<{ effectiveAt: number }>("replacement"))!;
      await state.storage.put("devices", {});
      await state.storage.put("replacement", { ...rep, effectiveAt: Date.now() - 1 });
    });
    expect((await r.claim()).status).toBe(404);
    expect(await subscriber.devices()).toEqual([]);
    await runInDurableObject(subscriber, async (_i, state) => {
      expect(await state.storage.get("replacement")).toBeUndefined();
    });
    expect(old.deviceId).toBeTruthy();
  });
});
