import { describe, expect, it, vi } from "vitest";
import {
  APP,
  activateDevice,
  activationTokenFrom,
  appApi,
  appRead,
  newDeviceKeys,
  publicJwk,
  sendAnswer,
  subscribe,
  waitForPush,
} from "./support/authenticator-app";
import { answer, callAuth, codeOf, freshMsisdn, gatewayRequests, KEYS, openLink, waitForLink } from "./support/magic-link";
import { TEST_CONFIG, activationSms, activationSmsCount, withConfig } from "./support/app-activation";

/**
 * POST /app/api/activation-request: the app asks for an activation SMS for a number. Anyone
 * can call it, so the answer must be the same for every number, the SMS it sends must carry a
 * working activation (link token + code), and the number and the caller's address are capped.
 */
const request = (msisdn: unknown, ip?: string) => appApi("activation-request", { msisdn }, ip);

/** The response as the caller sees it: status, the headers that matter, body. */
async function shape(res: Response) {
  return { status: res.status, type: res.headers.get("content-type"), retry: res.headers.get("retry-after"), body: await res.text() };
}

/** The app's activation from a browser of its own (new device keys, no push subscription). */
const activateInNewBrowser = async (msisdn: string, token: string | null, code: string | null) =>
  appApi("activate", { msisdn, token, code, publicKey: await publicJwk(await newDeviceKeys()), subscription: null });

describe("activation started in the app", () => {
  it("sends an SMS whose link and code activate the app, and the next sign-in is a push approved in it", async () => {
    const msisdn = freshMsisdn();
    const res = await request(msisdn);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: "sent" });

    const sms = await activationSms(msisdn);
    expect(sms.msisdn).toBe(msisdn);
    const [sent] = await gatewayRequests(msisdn);
    expect(sent?.text).toMatch(/^Sign-in request: to activate the authenticator app/); // the endpoint's title

    // The link's token works with the existing activation: the app shows the number, then the code activates.
    const info = await appApi("activation-info", { msisdn, token: sms.token });
    expect(await info.json()).toEqual({ msisdn, hasDevice: false });
    const keys = await newDeviceKeys();
    const sub = await subscribe();
    const wrong = await appApi("activate", {
      msisdn,
      token: sms.token,
      code: sms.code === "000000" ? "111111" : "000000",
      publicKey: await publicJwk(keys),
      subscription: null,
    });
    expect(wrong.status).toBe(403); // the link alone does not activate
    const activated = await appApi("activate", {
      msisdn,
      token: sms.token,
      code: sms.code,
      publicKey: await publicJwk(keys),
      subscription: { endpoint: sub.endpoint, keys: sub.keys },
    });
    expect(activated.status).toBe(200);
    const { deviceId, seed } = (await activated.json()) as { deviceId: string; seed: string };
    expect(seed).toMatch(/^[A-Z2-7]+$/);

    // Single use: the same SMS cannot activate another browser.
    const again = await activateInNewBrowser(msisdn, sms.token, sms.code);
    expect(again.status).toBe(403);

    const signIn = callAuth(msisdn, APP);
    const challengeId = await waitForPush(sub);
    const device = { msisdn, deviceId, seed, keys, sub };
    const details = (await (await appRead(device, "challenge", challengeId)).json()) as { nonce: string };
    expect((await sendAnswer(device, { c: challengeId, n: details.nonce, d: "accept" })).status).toBe(200);
    expect(await codeOf(signIn)).toBe("TOUCH_ACCEPTED");
  });

  it("answers every number alike: new, with a device, over its limits, undeliverable", async () => {
    const fresh = freshMsisdn();
    const withDevice = (await activateDevice(freshMsisdn())).msisdn;
    const undeliverable = freshMsisdn("0000"); // the fake gateway answers 503
    const capped = freshMsisdn();
    for (let i = 0; i < 3; i++) await request(capped);
    const shapes = await Promise.all([fresh, withDevice, undeliverable, capped].map(async (n) => shape(await request(n))));
    for (const s of shapes) expect(s).toEqual({ status: 202, type: "application/json", retry: null, body: '{"status":"sent"}' });
    // ...while only some of them were actually sent an SMS.
    expect(await activationSmsCount(fresh)).toBe(1);
    expect(await activationSmsCount(withDevice)).toBe(1);
    expect(await activationSmsCount(capped)).toBe(3);
  });

  it("sends a number at most the activation-code cap (3 a minute), however often it is asked", async () => {
    const msisdn = freshMsisdn();
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push((await request(msisdn)).status);
    expect(answers).toEqual([202, 202, 202, 202, 202, 202]);
    expect(await activationSmsCount(msisdn)).toBe(3);
  });

  it("spends none of the number's sign-in budget: a flood of asks cannot lock its sign-ins out", async () => {
    const strict = { ...TEST_CONFIG, appActivation: { endpoint: "strict" } }; // strict: 2 sign-ins a minute
    const msisdn = freshMsisdn();
    // From several addresses, more asks than the endpoint's sign-in limit and the code cap.
    for (let i = 0; i < 6; i++) {
      expect((await withConfig(strict, "activation-request", { msisdn }, `198.51.100.${10 + i}`)).status).toBe(202);
    }
    // The code cap alone bounds the SMS (3 a minute)...
    expect(await activationSmsCount(msisdn)).toBe(3);
    // ...and the number still signs in on that endpoint: the call is started (its SMS link
    // sent), not refused as rate_limited; it ends at its timeout, unanswered.
    const res = await callAuth(msisdn, {
      endpoint: "strict",
      key: KEYS.strict,
      params: { "touch-timeout": "15" },
      env: { MFA_CONFIG: JSON.stringify(strict) },
    });
    expect(res.headers.get("x-mfa-reason")).toBeNull();
    expect(await codeOf(res)).toBe("USER_NOT_RESPONDED");
  }, 30_000);

  it("keyless asks do not take the link page's activation away: its codes are counted apart", async () => {
    const msisdn = freshMsisdn();
    // Someone with no credential asks for the number's activation, from several addresses, up to the cap.
    for (let i = 0; i < 4; i++) {
      expect((await request(msisdn, `198.51.100.${40 + i}`)).status).toBe(202);
    }
    expect(await activationSmsCount(msisdn)).toBe(3);
    // The user, signing in with their SMS link, still gets "Use the app" (not 429) and activates.
    const pending = callAuth(msisdn, APP);
    const link = await waitForLink(msisdn);
    const fromLink = await activationTokenFrom(link);
    expect(fromLink.res.status).toBe(303);
    const activated = await activateInNewBrowser(msisdn, fromLink.token, fromLink.code);
    expect(activated.status).toBe(200);
    await answer(link, "reject", (await openLink(link)).csrf!);
    await pending;
  });

  it("limits one client address across numbers (429, which says nothing about any number)", async () => {
    // An address no other test uses: the limiter counts per address across the whole run, and
    // this file's other tests ask from 198.51.100.x (a random one there collided now and then).
    const ip = `192.0.2.${1 + Math.floor(Math.random() * 250)}`;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(freshMsisdn(), ip)).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
    const refused = await request(freshMsisdn(), ip);
    expect(await refused.json()).toEqual({ error: "rate_limited" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await request(freshMsisdn(), "203.0.113.9")).status).toBe(202);
  });

  it("is off unless configured: 404 not_enabled and no SMS", async () => {
    const { appActivation: _off, ...config } = TEST_CONFIG;
    const msisdn = freshMsisdn();
    const res = await withConfig(config, "activation-request", { msisdn });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not_enabled" });
    expect(await activationSmsCount(msisdn)).toBe(0);
  });

  it("refuses malformed numbers before anything runs", async () => {
    for (const bad of ["0701234567", "+46 70 123", 46701234567, null, "+4670123456789012"]) {
      expect((await request(bad)).status).toBe(400);
    }
    expect((await appApi("activation-request", { msisdn: freshMsisdn(), extra: "x".repeat(10) })).status).toBe(202);
  });

  it("logs the outcome with the number masked, never the token, the code or the number", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    }
    try {
      const msisdn = freshMsisdn();
      await request(msisdn);
      const sms = await activationSms(msisdn);
      await new Promise((r) => setTimeout(r, 100)); // the "sent" line follows the gateway's answer
      const logged = lines.join("\n");
      expect(logged).toContain('"outcome":"sent"');
      for (const secret of [sms.token, sms.code, msisdn]) expect(logged).not.toContain(secret);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
