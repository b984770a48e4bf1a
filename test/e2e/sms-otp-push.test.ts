import type { Browser, BrowserContext, CDPSession } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { FAKE_PUSH_CERT_PATH, startFakePushService, type FakePushService } from "../../harness/fake-push-service.ts";
import { startFakeSmsGateway } from "../../harness/fake-sms-gateway.ts";
import { relayKey, startRelay, type RelayProcess } from "../../harness/relay-process.ts";
import { launchChromium } from "../support/browser.ts";
import { linkIn, waitForSms } from "../support/magic-link-user.ts";
import { edgeDevArgs } from "../support/dev-vars.ts";
import { accessRequest, radclient } from "../support/radclient.ts";
import { phoneContext } from "../support/app-browser.ts";

/**
 * Issue 14 item 1 end to end: radclient -> relay (as installed) -> `npm run dev` -> the fake
 * push service, with the authenticator app activated in Chromium. A RADIUS SMS OTP goes to the
 * app by push: the Worker's real encrypted push is decrypted by the fake push service and
 * delivered to the app's service worker through the DevTools protocol
 * (`ServiceWorker.deliverPushMessage`, what the browser's push service would do); the service
 * worker acknowledges it, the app shows the code, radclient sends that code, and no SMS goes
 * out. A second login whose push never reaches the phone gets the same code by SMS after the
 * grace period.
 */
const SECRET = "radius-shared-secret";
const GRACE_SECONDS = 3;
const TOUCH_USER = "touch-user";
const OTP_USER = "otp-user";
const MSISDN = `+4673${String(Date.now() % 1e6).padStart(6, "0")}77`;

let dev: DevServer;
let relay: RelayProcess;
let browser: Browser;
let push: FakePushService;
let gateway: Awaited<ReturnType<typeof startFakeSmsGateway>>;

beforeAll(async () => {
  push = await startFakePushService();
  gateway = await startFakeSmsGateway();
  // wrangler dev's workerd must trust the fake push service's test certificate.
  process.env.NODE_EXTRA_CA_CERTS = FAKE_PUSH_CERT_PATH;
  const key = await relayKey();
  const edgeConfig = {
    rateLimit: { perMinute: 100, perHour: 1000 },
    endpoints: [{ name: "radius", timeoutSeconds: 30, enableActivation: true, pushGraceSeconds: GRACE_SECONDS, texts: { title: "VPN" } }],
    relays: [{ name: "test-relay", publicJwk: key.publicJwk, endpoint: "radius" }],
  };
  [dev, browser] = await Promise.all([startDevServer(edgeDevArgs(edgeConfig, gateway.url)), launchChromium()]);
  relay = await startRelay({
    clients: [{ name: "vpn", address: "127.0.0.1", secret: SECRET }],
    edge: { url: dev.url, relayName: "test-relay", privateKeyFile: key.privateKeyFile },
    touchTimeoutSeconds: 20,
    firstFactor: { type: "none" },
    users: { [TOUCH_USER]: { msisdn: MSISDN }, [OTP_USER]: { msisdn: MSISDN, secondFactor: "sms" } },
    secondFactor: "touch",
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([relay?.stop(), dev?.stop(), push?.close()]);
  gateway?.server.close();
});

const request = accessRequest;
const smsTexts = () => gateway.requests.filter((r) => r.to === MSISDN).map((r) => r.text ?? "");
const codeSms = () => smsTexts().filter((t) => t.startsWith("Your login code"));

/** A browser profile whose PushManager hands out a subscription at the fake push service. */
async function phone(sub: { endpoint: string; keys: unknown }): Promise<BrowserContext> {
  const context = await phoneContext(browser, dev.url, sub);
  return context;
}

/** The n-th decrypted push to a subscription (1-based). */
async function nthPush(subId: string, n: number): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const got = push.received.filter((r) => r.subscription === subId);
    if (got.length >= n) return got[n - 1]?.payload ?? "";
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no push #${n} arrived at the fake push service`);
}

/** The app's service worker registration id, as the DevTools protocol names it. */
async function registrationId(cdp: CDPSession, origin: string): Promise<string> {
  const found = new Promise<string>((resolve) => {
    cdp.on("ServiceWorker.workerRegistrationUpdated", (e: { registrations: Array<{ registrationId: string; scopeURL: string }> }) => {
      const reg = e.registrations.find((r) => r.scopeURL === `${origin}/app/`);
      if (reg) resolve(reg.registrationId);
    });
  });
  await cdp.send("ServiceWorker.enable");
  return found;
}

async function waitFor<T>(read: () => T, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("RADIUS SMS OTP by push to the app (Chromium, radclient, npm run dev)", () => {
  it("activates the app from a Touch's SMS link; then the code goes to the app, which shows it; radclient sends it; the SMS follows only when the push is not acknowledged", async () => {
    const sub = await push.subscribe("ok");
    const context = await phone(sub);
    const page = await context.newPage();

    // 1. A Touch login sends the SMS link (no app yet); its page offers the app.
    const touch = radclient(relay.target, SECRET, request(TOUCH_USER, "x"), { timeoutSeconds: 40 });
    const link = linkIn(await waitForSms(gateway.requests, MSISDN));
    await page.goto(link);
    await page.getByRole("button", { name: "Use the app on this phone" }).click();
    await expect.poll(() => page.url()).toContain("/app/#activate=");
    const texts = await waitFor(smsTexts, (t) => t.some((s) => /activation code is \d{6}/.test(s)));
    const activationCode = texts.map((s) => s.match(/activation code is (\d{6})/)?.[1]).find(Boolean) ?? "";
    await page.locator("#activate-code").fill(activationCode);
    await page.getByRole("button", { name: "Activate" }).click();
    await expect.poll(() => page.locator("#result-title").textContent(), { timeout: 15_000 }).toBe("Activated");
    await page.goto(link);
    await page.getByRole("button", { name: "Accept" }).click();
    expect((await touch).code).toBe("Access-Accept");

    // 2. The app on its home screen; the service worker as the DevTools protocol names it.
    await page.goto("/app/");
    await expect.poll(() => page.locator("#totp-code").textContent()).toMatch(/^\d{3} \d{3}$/);
    const cdp = await context.newCDPSession(page);
    const regId = await registrationId(cdp, dev.url);
    const pushesBefore = push.received.filter((r) => r.subscription === sub.id).length;

    // 3. An SMS OTP login: the code goes to the app by push, not by SMS.
    const challenge = await radclient(relay.target, SECRET, request(OTP_USER, "x"));
    expect(challenge.code).toBe("Access-Challenge");
    expect(challenge.replyMessage).toBe("Enter the code shown in your authenticator app or sent by SMS");
    const payload = await nthPush(sub.id, pushesBefore + 1);
    const pushed = JSON.parse(payload) as { k: string; code: string };
    expect(pushed.k).toBe("otp");
    expect(codeSms()).toEqual([]);
    // What the browser's push service would do: hand the (decrypted) message to the service worker.
    await cdp.send("ServiceWorker.deliverPushMessage", { origin: dev.url, registrationId: regId, data: payload });
    await expect.poll(() => page.locator("#login-code").textContent()).toBe(`${pushed.code.slice(0, 3)} ${pushed.code.slice(3)}`);
    expect(await page.locator("#login-code-box").isVisible()).toBe(true);
    const shown = ((await page.locator("#login-code").textContent()) ?? "").replace(" ", "");
    // The service worker acknowledged it: past the grace period, still no SMS.
    await new Promise((r) => setTimeout(r, (GRACE_SECONDS + 2) * 1000));
    expect(codeSms()).toEqual([]);
    const accepted = await radclient(relay.target, SECRET, request(OTP_USER, shown, `State = ${challenge.state}`));
    expect(accepted.code).toBe("Access-Accept");
    // Single use: the same code with a new challenge's State is refused.
    const again = await radclient(relay.target, SECRET, request(OTP_USER, "x"));
    const replay = await radclient(relay.target, SECRET, request(OTP_USER, shown, `State = ${again.state}`));
    expect(replay.code).toBe("Access-Reject");

    // 4. A push that never reaches the phone (not delivered to the service worker): the same
    // code follows by SMS after the grace period, and works.
    const lost = await radclient(relay.target, SECRET, request(OTP_USER, "x"));
    expect(lost.code).toBe("Access-Challenge");
    const lostPush = JSON.parse(await nthPush(sub.id, pushesBefore + 3)) as { code: string };
    const expected = `Your login code is ${lostPush.code}`;
    const sms = await waitFor(codeSms, (t) => t.includes(expected), (GRACE_SECONDS + 10) * 1000);
    expect(sms.filter((t) => t === expected)).toHaveLength(1);
    const viaSms = await radclient(relay.target, SECRET, request(OTP_USER, lostPush.code, `State = ${lost.state}`));
    expect(viaSms.code).toBe("Access-Accept");
  }, 120_000);
});
