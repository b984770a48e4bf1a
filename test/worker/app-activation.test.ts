import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { answer, callAuth, freshMsisdn, openLink, waitForLink } from "./helpers";
import { APP, activateDevice, activationTokenFrom, appApi, newDeviceKeys, publicJwk, subscribe } from "./app-helpers";

async function activateWith(msisdn: string, token: string) {
  const keys = await newDeviceKeys();
  const sub = await subscribe();
  return appApi("activate", { msisdn, token, publicKey: await publicJwk(keys), subscription: { endpoint: sub.endpoint, keys: sub.keys } });
}

describe("app activation from the SMS link page", () => {
  it("offers activation only on endpoints that enable it", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    expect(page.html).toContain("Use the app on this phone");
    expect(page.html).toContain(`action="/m/${link.split("/m/")[1]}/activate"`);
    await answer(link, "accept", page.csrf!);
    expect(await (await pending).json()).toEqual({ code: "TOUCH_ACCEPTED" });

    const other = freshMsisdn();
    const plain = callAuth(other); // "default" endpoint: enableActivation defaults to false
    const plainLink = await waitForLink(other);
    const plainPage = await openLink(plainLink);
    expect(plainPage.html).not.toContain("Use the app");
    const refused = await activationTokenFrom(plainLink);
    expect(refused.res.status).toBe(403);
    expect(refused.token).toBeNull();
    await answer(plainLink, "accept", plainPage.csrf!);
    await plain;
  });

  it("binds a device to the number; the token is single use", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const { res, token, msisdn: inFragment } = await activationTokenFrom(link);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/app\/#activate=[A-Za-z0-9_-]{43}&msisdn=%2B/);
    expect(inFragment).toBe(msisdn);

    const first = await activateWith(msisdn, token!);
    expect(first.status).toBe(200);
    const body = (await first.json()) as { deviceId: string; seed: string };
    expect(body.deviceId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.seed).toMatch(/^[A-Z2-7]{32}$/); // 20-byte seed, base32
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ deviceId: body.deviceId, push: true });

    const again = await activateWith(msisdn, token!);
    expect(again.status).toBe(403);
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ deviceId: body.deviceId });

    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    await pending;
  });

  it("refuses an expired token, a token for another number and a made-up token", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const a = await activationTokenFrom(link);
    const b = await activationTokenFrom(link);

    // Token of this number presented for another number: that number has no such grant.
    expect((await activateWith(freshMsisdn(), a.token!)).status).toBe(403);
    // Invented token.
    expect((await activateWith(msisdn, "A".repeat(43))).status).toBe(403);
    // Expired: age the stored grant past its expiry.
    const stub = env.SUBSCRIBER.getByName(msisdn);
    await runInDurableObject(stub, async (_i, state) => {
      const grants = (await state.storage.get<Record<string, number>>("grants"))!;
      for (const k of Object.keys(grants)) grants[k] = Date.now() - 1;
      await state.storage.put("grants", grants);
    });
    expect((await activateWith(msisdn, b.token!)).status).toBe(403);
    expect(await stub.device()).toBeNull();

    const page = await openLink(link);
    await answer(link, "reject", page.csrf!);
    await pending;
  });

  it("needs a live link: no activation from an answered or expired session", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    await pending;
    const { exports } = await import("cloudflare:workers");
    const late = await exports.default.fetch(
      new Request(`${link}/activate`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(link).origin },
        body: new URLSearchParams({ csrf: page.csrf! }), // the token that was valid while live
      }),
    );
    expect(late.status).toBe(403);
    expect(late.headers.get("location")).toBeNull();
  });

  it("refuses a cross-site activation POST and a wrong CSRF token", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const { exports } = await import("cloudflare:workers");
    const post = (origin: string, csrf: string) =>
      exports.default.fetch(
        new Request(`${link}/activate`, {
          method: "POST",
          redirect: "manual",
          headers: { "content-type": "application/x-www-form-urlencoded", origin },
          body: new URLSearchParams({ csrf }),
        }),
      );
    const page = await openLink(link);
    expect((await post("https://evil.example", page.csrf!)).status).toBe(403);
    expect((await post(new URL(link).origin, "wrong")).status).toBe(403);
    await answer(link, "accept", page.csrf!);
    await pending;
  });

  it("rejects malformed activation bodies", async () => {
    const keys = await newDeviceKeys();
    const bad = [
      {},
      { msisdn: "0701234567", token: "A".repeat(43), publicKey: await publicJwk(keys), subscription: null },
      { msisdn: freshMsisdn(), token: "A".repeat(43), publicKey: { kty: "RSA" }, subscription: null },
      {
        msisdn: freshMsisdn(),
        token: "A".repeat(43),
        publicKey: await publicJwk(keys),
        subscription: { endpoint: "http://insecure.example/push", keys: { p256dh: "x".repeat(87), auth: "y".repeat(22) } },
      },
    ];
    for (const body of bad) expect((await appApi("activate", body)).status).toBe(400);
  });

  it("a new activation replaces the earlier device", async () => {
    const msisdn = freshMsisdn();
    const first = await activateDevice(msisdn);
    const second = await activateDevice(msisdn);
    expect(second.deviceId).not.toBe(first.deviceId);
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ deviceId: second.deviceId });
    expect((await appApi("pending", { msisdn, deviceId: first.deviceId })).status).toBe(404);
    expect((await appApi("pending", { msisdn, deviceId: second.deviceId })).status).toBe(200);
  });

  it("stores the TOTP seed only encrypted", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const stored = await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) => s.storage.get("device"));
    const json = JSON.stringify(stored);
    expect(json).not.toContain(d.seed);
    expect(stored).toMatchObject({ id: d.deviceId, seed: { iv: expect.any(String), ct: expect.any(String) } });
  });
});
