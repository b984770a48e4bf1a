import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ADMIN_TOKEN, DEMO_API_KEY } from "../../scripts/demo-key.mjs";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { FAKE_PUSH_CERT_PATH, startFakePushService, type FakePushService } from "../../harness/fake-push-service.ts";
import { launchChromium } from "../support/browser.ts";
import { type FakeSubscription, phoneContext } from "../support/app-browser.ts";
import { fromDevOutbox } from "../support/magic-link-user.ts";

/**
 * The authenticator app's screens in Chromium against `npm run dev`: activation started in the
 * app (number -> SMS in the dev outbox -> link and code -> a pushed sign-in approved), and what
 * every state tells the user to do next. As in authenticator-app.test.ts, the browser's
 * PushManager hands out a subscription at the local fake push service (a real browser cannot
 * reach a real push service offline); the Worker's real encrypted push is decrypted there.
 */
let dev: DevServer;
let browser: Browser;
let push: FakePushService;

beforeAll(async () => {
  push = await startFakePushService();
  process.env.NODE_EXTRA_CA_CERTS = FAKE_PUSH_CERT_PATH; // wrangler dev's workerd trusts the fake push service
  [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await push?.close();
});

const freshMsisdn = () => `+4672${Math.floor(1e6 + Math.random() * 8e6)}`;

function callApi(msisdn: string) {
  return fetch(`${dev.url}/api/sfwa/auth?msisdn=${encodeURIComponent(msisdn)}&title-text=${encodeURIComponent("ACME VPN")}`, {
    headers: { "api-key": DEMO_API_KEY },
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

/** The activation SMS the app asked for: its link and its code (waits for it). */
async function activationSms(msisdn: string): Promise<{ link: string; code: string }> {
  return fromDevOutbox(dev.url, msisdn, (m) => {
    const code = m.text.match(/type the code (\d{6})/)?.[1];
    return code && m.link.includes("/app/#activate=") ? { link: m.link, code } : undefined;
  });
}

/**
 * A browser profile. `push`: its PushManager hands out a subscription at the fake push service;
 * "blocked": the user blocked notifications for the site (permission "denied").
 */
async function phone(notifications: FakeSubscription | "blocked"): Promise<BrowserContext> {
  if (notifications !== "blocked") return phoneContext(browser, dev.url, notifications);
  const context = await browser.newContext({ baseURL: dev.url });
  await context.addInitScript(() => {
    const n = (globalThis as unknown as { Notification: { requestPermission: () => Promise<string> } }).Notification;
    Object.defineProperty(n, "permission", { get: () => "denied" });
    n.requestPermission = async () => "denied";
  });
  return context;
}

async function waitForPush(subId: string): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const got = push.received.find((r) => r.subscription === subId && r.payload?.includes('"c"'));
    if (got?.payload) return (JSON.parse(got.payload) as { c: string }).c;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no push arrived at the fake push service");
}

const visible = (page: Page, selector: string) => page.locator(selector).isVisible();
const text = (page: Page, selector: string) => page.locator(selector).textContent();

/** Enter the number in the app, open the SMS link, type the code: the app's home screen. */
async function activateInApp(page: Page, msisdn: string): Promise<void> {
  await page.goto("/app/");
  await page.locator("#request-msisdn").fill(msisdn);
  await page.getByRole("button", { name: "Send activation SMS" }).click();
  await expect.poll(() => visible(page, "#view-requested")).toBe(true);
  const sms = await activationSms(msisdn);
  await page.goto(sms.link);
  await expect.poll(() => text(page, "#activate-msisdn")).toBe(msisdn);
  await page.locator("#activate-code").fill(sms.code);
  await page.getByRole("button", { name: "Activate" }).click();
  await expect.poll(() => text(page, "#result-title"), { timeout: 15_000 }).toBe("Activated");
  await page.getByRole("button", { name: "Done" }).click();
  await expect.poll(() => visible(page, "#view-home")).toBe(true);
}

describe("the authenticator app's screens in Chromium against wrangler dev", () => {
  it("activation started in the app: number, SMS with link and code, activated, and a pushed sign-in approved", async () => {
    const msisdn = freshMsisdn();
    const sub = await push.subscribe("ok");
    const context = await phone(sub);
    const page = await context.newPage();

    // Not activated: it says how (the number form, or a sign-in link).
    await page.goto("/app/");
    await expect.poll(() => visible(page, "#view-none")).toBe(true);
    expect(await text(page, "#view-none h1")).toBe("Not activated");
    expect(await visible(page, "#request-form")).toBe(true);
    expect(await text(page, "#none-link-help")).toContain("Use the app on this phone");

    // A malformed number is caught in the app; typed spaces and a 00 prefix are fine.
    await page.locator("#request-msisdn").fill("0701234567");
    await page.getByRole("button", { name: "Send activation SMS" }).click();
    await expect.poll(() => text(page, "#error")).toContain("country code");
    await page.locator("#request-msisdn").fill(`00${msisdn.slice(1, 5)} ${msisdn.slice(5)}`);
    await page.getByRole("button", { name: "Send activation SMS" }).click();

    // Waiting for the SMS: what to do with it, and Send again only after a minute.
    await expect.poll(() => visible(page, "#view-requested")).toBe(true);
    expect(await text(page, "#view-requested h1")).toBe("Check your SMS");
    expect(await text(page, "#requested-msisdn")).toBe(msisdn);
    expect(await page.locator("#request-again").isDisabled()).toBe(true);
    await page.reload(); // reopening the app still says to check the SMS
    await expect.poll(() => visible(page, "#view-requested")).toBe(true);

    // The SMS (dev outbox) carries the link and the code; the link opens the app on this phone.
    const sms = await activationSms(msisdn);
    await page.goto(sms.link);
    await expect.poll(() => text(page, "#activate-msisdn")).toBe(msisdn);
    await page.locator("#activate-code").fill(sms.code);
    await page.getByRole("button", { name: "Activate" }).click();
    await expect.poll(() => text(page, "#result-title"), { timeout: 15_000 }).toBe("Activated");
    expect(await text(page, "#result-text")).toContain("notifications");
    expect(page.url()).not.toContain("activate="); // the token left the address bar
    await page.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => text(page, "#push-status")).toBe("Notifications on: sign-in requests arrive here.");
    expect(await visible(page, "#push-help")).toBe(false);

    // A sign-in arrives as a push; the app shows it with what to do, and Accept completes the call.
    const signIn = callApi(msisdn);
    const challengeId = await waitForPush(sub.id);
    await page.goto(`/app/#c=${challengeId}`);
    await expect.poll(() => text(page, "#ch-title")).toBe("ACME VPN");
    expect(await text(page, "#ch-help")).toContain("Only accept if you are signing in right now");
    await page.locator("#ch-accept").click();
    await expect.poll(() => text(page, "#result-title")).toBe("Approved");
    expect(await signIn).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });
    await context.close();
  });

  it("an activation link that is no longer valid says why and what to do; Done leads back to the form", async () => {
    const context = await phone("blocked");
    const page = await context.newPage();
    await page.goto(`/app/#activate=${"A".repeat(43)}&msisdn=${encodeURIComponent(freshMsisdn())}`);
    await expect.poll(() => text(page, "#result-title")).toBe("Activation link not valid");
    expect(await text(page, "#result-text")).toMatch(/already used or has expired.*Ask for a new activation SMS in the app/);
    await page.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => visible(page, "#request-form")).toBe(true);
    await context.close();
  });

  it("notifications blocked by the browser: activated for codes, and told how to allow them", async () => {
    const context = await phone("blocked");
    const page = await context.newPage();
    await activateInApp(page, freshMsisdn());
    await expect.poll(() => text(page, "#push-status")).toBe("Notifications off: sign-in requests come by SMS.");
    expect(await text(page, "#push-help")).toMatch(/blocked for this site.*site settings/);
    expect(await visible(page, "#push-btn")).toBe(false); // the browser will not ask again
    await expect.poll(() => text(page, "#totp-code")).toMatch(/^\d{3} \d{3}$/);
    await context.close();
  });

  it("offline and edge errors: the home screen says so and that the code still works; back online, the notice goes", async () => {
    const sub = await push.subscribe("ok");
    const context = await phone(sub);
    const page = await context.newPage();
    await activateInApp(page, freshMsisdn());

    await context.setOffline(true);
    await expect.poll(() => text(page, "#connection-notice"), { timeout: 10_000 }).toMatch(/^You are offline.*code below works offline/);
    expect(await text(page, "#totp-code")).toMatch(/^\d{3} \d{3}$/);
    await context.setOffline(false);
    await expect.poll(() => visible(page, "#connection-notice"), { timeout: 10_000 }).toBe(false);

    // The edge answers with an error (a stand-in for an outage: the app's poll gets a 503).
    await page.route("**/app/api/pending", (route) => route.fulfill({ status: 503, contentType: "application/json", body: "{}" }));
    await expect.poll(() => text(page, "#connection-notice"), { timeout: 10_000 }).toMatch(/HTTP 503.*code below still works/);
    await page.unroute("**/app/api/pending");
    await expect.poll(() => visible(page, "#connection-notice"), { timeout: 10_000 }).toBe(false);
    await context.close();
  });

  it("a device revoked by an administrator: the app says it is no longer activated and offers to activate again", async () => {
    const msisdn = freshMsisdn();
    const sub = await push.subscribe("ok");
    const context = await phone(sub);
    const page = await context.newPage();
    await activateInApp(page, msisdn);

    const admin = { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` };
    const summary = (await (await fetch(`${dev.url}/admin/v1/subscribers/${encodeURIComponent(msisdn)}`, { headers: admin })).json()) as {
      devices: { id: string }[];
    };
    const [device] = summary.devices;
    expect(device).toBeDefined();
    const revoked = await fetch(`${dev.url}/admin/v1/subscribers/${encodeURIComponent(msisdn)}/devices/${device?.id}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(revoked.status).toBe(204);

    await expect.poll(() => text(page, "#none-reason"), { timeout: 10_000 }).toContain(`no longer activated for ${msisdn}`);
    expect(await visible(page, "#request-form")).toBe(true);
    await context.close();
  });
});
