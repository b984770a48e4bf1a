import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { answer, callAuth, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";
import { APP, activateDevice, activationTokenFrom, appApi, newDeviceKeys, publicJwk, subscribe } from "./support/authenticator-app";

async function activateWith(msisdn: string, token: string, code: string) {
  const keys = await newDeviceKeys();
  const sub = await subscribe();
  return appApi("activate", {
    msisdn,
    token,
    code,
    publicKey: await publicJwk(keys),
    subscription: { endpoint: sub.endpoint, keys: sub.keys },
  });
}

/** Another one-digit-off code: never the right one. */
const wrong = (code: string) => code.slice(0, 5) + String((Number(code[5]) + 1) % 10);

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

  it("binds a device to the number with the token and the code sent by SMS; the token is single use", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const { res, token, msisdn: inFragment, code } = await activationTokenFrom(link);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/app\/#activate=[A-Za-z0-9_-]{43}&msisdn=%2B/);
    expect(inFragment).toBe(msisdn);
    // The code went to the number in an SMS of its own, not in the redirect.
    expect(code).toMatch(/^\d{6}$/);
    expect(res.headers.get("location")).not.toContain(code!);

    const first = await activateWith(msisdn, token!, code!);
    expect(first.status).toBe(200);
    const body = (await first.json()) as { deviceId: string; seed: string };
    expect(body.deviceId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.seed).toMatch(/^[A-Z2-7]{32}$/); // 20-byte seed, base32
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).toMatchObject({ deviceId: body.deviceId, push: true });

    const again = await activateWith(msisdn, token!, code!);
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
    expect((await activateWith(freshMsisdn(), a.token!, a.code!)).status).toBe(403);
    // Invented token.
    expect((await activateWith(msisdn, "A".repeat(43), a.code!)).status).toBe(403);
    // Expired: age the stored grant past its expiry.
    const stub = env.SUBSCRIBER.getByName(msisdn);
    await runInDurableObject(stub, async (_i, state) => {
      const grants = (await state.storage.get<Record<string, { expiresAt: number }>>("grants"))!;
      for (const g of Object.values(grants)) g.expiresAt = Date.now() - 1;
      await state.storage.put("grants", grants);
    });
    expect((await activateWith(msisdn, b.token!, b.code!)).status).toBe(403);
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

  it("the link token alone does not activate: the code is required, wrong codes burn the token after 3 tries", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const { token, code } = await activationTokenFrom(link);
    const keys = await newDeviceKeys();
    const withoutCode = await appApi("activate", { msisdn, token, publicKey: await publicJwk(keys), subscription: null });
    expect(withoutCode.status).toBe(400);
    for (let i = 0; i < 2; i++) {
      const r = await activateWith(msisdn, token!, wrong(code!));
      expect(r.status).toBe(403);
      expect(await r.json()).toEqual({ error: "wrong_code" });
    }
    expect((await activateWith(msisdn, token!, code!)).status).toBe(200); // 2 wrong tries leave the token live
    expect(await env.SUBSCRIBER.getByName(msisdn).device()).not.toBeNull();

    const other = freshMsisdn();
    const pending2 = callAuth(other, APP);
    const link2 = await waitForLink(other);
    const second = await activationTokenFrom(link2);
    for (let i = 0; i < 3; i++) expect((await activateWith(other, second.token!, wrong(second.code!))).status).toBe(403);
    expect(await (await activateWith(other, second.token!, second.code!)).json()).toEqual({ error: "invalid_or_used_token" });
    expect(await env.SUBSCRIBER.getByName(other).device()).toBeNull();

    for (const [l, p] of [
      [link, pending],
      [link2, pending2],
    ] as const) {
      await answer(l, "reject", (await openLink(l)).csrf!);
      await p;
    }
  });

  it("limits the activation codes sent to a number", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const before = (await gatewayRequests(msisdn)).length;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await activationTokenFrom(link)).res.status);
    expect(statuses).toEqual([303, 303, 303, 429, 429]); // ACTIVATION_SEND_LIMITS: 3 a minute
    expect((await gatewayRequests(msisdn)).length).toBe(before + 3);
    await answer(link, "reject", (await openLink(link)).csrf!);
    await pending;
  });

  it("activation-info confirms the number the token is for and says whether a device would be replaced", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const { token } = await activationTokenFrom(link);
    expect(await (await appApi("activation-info", { msisdn, token })).json()).toEqual({ msisdn, hasDevice: false });
    // The same token named with another number (a tampered fragment) is not valid there.
    expect((await appApi("activation-info", { msisdn: freshMsisdn(), token })).status).toBe(403);
    await answer(link, "reject", (await openLink(link)).csrf!);
    await pending;
    await activateDevice(msisdn);
    const next = callAuth(msisdn, APP);
    const link2 = await waitForLink(msisdn, 10_000, (await gatewayRequests(msisdn)).length);
    const again = await activationTokenFrom(link2);
    expect(await (await appApi("activation-info", { msisdn, token: again.token })).json()).toEqual({ msisdn, hasDevice: true });
    await answer(link2, "reject", (await openLink(link2)).csrf!);
    await next;
  });

  it("stores the TOTP seed only encrypted", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const stored = await runInDurableObject(
      env.SUBSCRIBER.getByName(msisdn),
      async (_i, s) => (await s.storage.get<Record<string, unknown>>("devices"))?.[d.deviceId],
    );
    const json = JSON.stringify(stored);
    expect(json).not.toContain(d.seed);
    expect(stored).toMatchObject({ id: d.deviceId, seed: { iv: expect.any(String), ct: expect.any(String) } });
  });
});
