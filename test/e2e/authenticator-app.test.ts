import type { Browser, BrowserContext } from "playwright-core";
import { launchChromium } from "../support/browser.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ADMIN_TOKEN, DEMO_API_KEY } from "../../scripts/demo-key.mjs";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { FAKE_PUSH_CERT_PATH, startFakePushService, type FakePushService } from "../../harness/fake-push-service.ts";
import { phoneContext } from "../support/app-browser.ts";
import { devOutbox, fromDevOutbox } from "../support/magic-link-user.ts";

/**
 * The authenticator app in a real browser against `npm run dev`: activate it from the SMS link
 * page, then approve a sign-in that arrives as a Web Push.
 *
 * A real browser cannot reach a real push service offline, so the browser's PushManager is
 * given a subscription at the local fake push service (test-side stub, below). The Worker
 * sends its real encrypted, VAPID-signed push there; the fake service decrypts it, and the
 * test hands the challenge id to the page the way a notification tap does (/app/#c=<id>).
 */
let dev: DevServer;
let browser: Browser;
let push: FakePushService;

beforeAll(async () => {
  push = await startFakePushService();
  // wrangler dev's workerd must trust the fake push service's test certificate.
  process.env.NODE_EXTRA_CA_CERTS = FAKE_PUSH_CERT_PATH;
  [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await push?.close();
});

function callApi(msisdn: string) {
  return fetch(`${dev.url}/api/sfwa/auth?msisdn=${encodeURIComponent(msisdn)}&title-text=${encodeURIComponent("ACME VPN")}`, {
    headers: { "api-key": DEMO_API_KEY },
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

const linkFromOutbox = (msisdn: string, skip = 0) => fromDevOutbox(dev.url, msisdn, (m) => m.link || undefined, skip);
/** The activation code the link page's "Use the app" sent to the number. */
const codeFromOutbox = (msisdn: string, skip = 0) =>
  fromDevOutbox(dev.url, msisdn, (m) => m.text.match(/activation code is (\d{6})/)?.[1], skip);

/** A browser profile whose PushManager hands out a subscription at the fake push service. */
async function phone(sub: { endpoint: string; keys: unknown }): Promise<BrowserContext> {
  const context = await phoneContext(browser, dev.url, sub);
  return context;
}

async function waitForPush(subId: string): Promise<{ payload: string; vapidOk: boolean }> {
  for (let i = 0; i < 150; i++) {
    const got = push.received.find((r) => r.subscription === subId);
    if (got) return { payload: got.payload ?? `(undecryptable: ${got.error})`, vapidOk: got.vapid.ok };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no push arrived at the fake push service");
}

describe("authenticator web app in Chromium against wrangler dev", () => {
  let context: BrowserContext;

  it("activates through the SMS link page, then approves a pushed sign-in: the API returns TOUCH_ACCEPTED", async () => {
    const msisdn = `+4670${Math.floor(1e6 + Math.random() * 8e6)}`;
    const sub = await push.subscribe("ok");
    context = await phone(sub);
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) cspErrors.push(m.text());
    });

    // 1. First sign-in: SMS link. The page offers the app; the user activates it.
    const first = callApi(msisdn);
    const link = await linkFromOutbox(msisdn);
    await page.goto(link);
    await page.getByRole("button", { name: "Use the app on this phone" }).click();
    await expect.poll(() => page.url()).toContain("/app/#activate=");
    await expect.poll(() => page.locator("#activate-msisdn").textContent()).toBe(msisdn);
    expect(await page.locator("#activate-replace-box").isVisible()).toBe(false); // nothing stored here yet
    // The link alone does not activate: the code that came in a separate SMS is needed.
    await page.getByRole("button", { name: "Activate" }).click();
    await expect.poll(() => page.locator("#error").textContent()).toContain("6-digit activation code");
    await page.locator("#activate-code").fill(await codeFromOutbox(msisdn));
    await page.getByRole("button", { name: "Activate" }).click();
    await expect.poll(() => page.locator("#result-title").textContent(), { timeout: 15_000 }).toBe("Activated");
    expect(page.url()).not.toContain("activate="); // the token left the address bar
    const manifest = await page.request.get("/app/manifest.webmanifest");
    expect(await manifest.json()).toMatchObject({ start_url: "/app/", display: "standalone" });
    await expect
      .poll(() =>
        page.evaluate(async () => {
          const nav = navigator as unknown as { serviceWorker: { getRegistration(scope: string): Promise<unknown> } };
          return !!(await nav.serviceWorker.getRegistration("/app/"));
        }),
      )
      .toBe(true);

    // The user returns to the SMS page and answers the first sign-in there.
    await page.goto(link);
    await page.getByRole("button", { name: "Accept" }).click();
    expect(await first).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });

    // 2. Next sign-in: a push to the app (no SMS), carrying only the challenge id.
    const smsCount = (await devOutbox(dev.url, msisdn)).length;
    const second = callApi(msisdn);
    const pushed = await waitForPush(sub.id);
    expect(pushed.vapidOk).toBe(true);
    const data = JSON.parse(pushed.payload) as { c: string };
    expect(Object.keys(data)).toEqual(["c"]);
    let settled = false;
    void second.then(() => (settled = true));

    // The notification tap opens the app on the challenge.
    await page.goto(`/app/#c=${data.c}`);
    await expect.poll(() => page.locator("#ch-title").textContent()).toBe("ACME VPN");
    expect(settled).toBe(false); // the API call is still blocked
    await page.locator("#ch-accept").click();
    await expect.poll(() => page.locator("#result-title").textContent()).toBe("Approved");
    expect(await second).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });
    const after = (await devOutbox(dev.url, msisdn)).length;
    expect(after).toBe(smsCount); // answered within the grace period: no SMS

    // 3. Offline code: the app's TOTP (computed in the browser) verifies at the edge.
    await page.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.locator("#totp-code").textContent()).toMatch(/^\d{3} \d{3}$/);
    const code = (await page.locator("#totp-code").textContent())!.replace(" ", "");
    const verify = await fetch(`${dev.url}/api/offline/totp`, {
      method: "POST",
      headers: { "api-key": DEMO_API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ msisdn, code }),
    });
    expect(await verify.json()).toEqual({ valid: true });

    // 4. "Phone not reachable": the app signs a challenge; the edge accepts the code once.
    await page.getByText("Phone not reachable? Sign a challenge").click();
    await page.locator("#cr-input").fill("482913");
    await page.getByRole("button", { name: "Sign" }).click();
    await expect.poll(() => page.locator("#cr-result").textContent()).toMatch(/\d{4} \d{4}$/);
    const crCode = (await page.locator("#cr-result").textContent())!
      .match(/(\d{4}) (\d{4})$/)!
      .slice(1)
      .join("");
    const cr = () =>
      fetch(`${dev.url}/api/offline/challenge-response`, {
        method: "POST",
        headers: { "api-key": DEMO_API_KEY, "content-type": "application/json" },
        body: JSON.stringify({ msisdn, challenge: "482913", code: crCode }),
      }).then((r) => r.json());
    expect(await cr()).toEqual({ valid: true });
    expect(await cr()).toEqual({ valid: false }); // single use

    // 5. With the app open on its home screen, a new request shows up by itself (the app
    // asks the edge for pending requests), and Reject returns TOUCH_REJECTED.
    const third = callApi(msisdn);
    await expect.poll(() => page.locator("#ch-title").isVisible(), { timeout: 15_000 }).toBe(true);
    await page.locator("#ch-reject").click();
    await expect.poll(() => page.locator("#result-title").textContent()).toBe("Rejected");
    expect(await third).toEqual({ status: 200, body: { code: "TOUCH_REJECTED" } });

    // 6. Assisted Login: after Accept the app lists the approvers; the pick goes to the
    // approver (no app) as an SMS link of their own, and their Accept completes the call.
    const approverMsisdn = `+4673${Math.floor(1e6 + Math.random() * 8e6)}`;
    const admin = (path: string, body: unknown) =>
      fetch(`${dev.url}/admin/v1/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { secret?: string } }));
    const endpoint = `helpdesk-${Date.now()}`;
    expect(
      (
        await admin("endpoints", {
          name: endpoint,
          texts: { title: "Helpdesk" },
          assistedLogin: { approvers: [{ name: "Alice Admin", msisdn: approverMsisdn }] },
        })
      ).status,
    ).toBe(201);
    const { secret } = (await admin(`endpoints/${endpoint}/tokens`, { name: "e2e" })).body;
    const assisted = fetch(`${dev.url}/api/sfwa/auth/${endpoint}?msisdn=${encodeURIComponent(msisdn)}`, {
      headers: { "api-key": secret! },
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
    await page.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.locator("#ch-title").textContent(), { timeout: 15_000 }).toBe("Helpdesk");
    await page.locator("#ch-accept").click();
    await page.getByRole("button", { name: "Alice Admin" }).click();
    await expect.poll(() => page.locator("#result-title").textContent()).toBe("Approver asked");
    const approverPage = await context.newPage();
    await approverPage.goto(await linkFromOutbox(approverMsisdn));
    await expect.poll(() => approverPage.getByText("asks you to approve a sign-in").isVisible()).toBe(true);
    await approverPage.getByRole("button", { name: "Accept" }).click();
    expect(await assisted).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });

    // 7. A generic 404 (an unknown challenge, a proxy's 404) does not make the app forget its
    // device; only the server's unknown_device answer does.
    await page.route("**/app/api/pending", (r) =>
      r.fulfill({ status: 404, contentType: "application/json", body: '{"error":"unknown_challenge"}' }),
    );
    const firstPoll = page.waitForResponse("**/app/api/pending");
    await page.goto("/app/");
    expect((await firstPoll).status()).toBe(404);
    // The app polls again only while it still has a device (it stopped when it forgot it).
    expect((await page.waitForResponse("**/app/api/pending", { timeout: 15_000 })).status()).toBe(404);
    expect(await page.locator("#view-none").isVisible()).toBe(false);
    await page.unroute("**/app/api/pending");
    await page.reload();
    await expect.poll(() => page.locator("#home-msisdn").textContent()).toBe(msisdn);
    expect(await page.locator("#view-none").isVisible()).toBe(false);

    // 8. Another phone activates for this number: it waits to join; the first phone is told and refuses.
    const fourth = callApi(msisdn);
    await expect.poll(() => page.locator("#ch-title").isVisible(), { timeout: 15_000 }).toBe(true);
    const replaceLink = await linkFromOutbox(msisdn, (await devOutbox(dev.url, msisdn)).length); // SMS fallback after the grace period
    // A browser that already holds a device is warned and must choose to replace it.
    const sameBrowser = await context.newPage();
    await sameBrowser.goto(replaceLink);
    await sameBrowser.getByRole("button", { name: "Use the app on this phone" }).click();
    await expect.poll(() => sameBrowser.locator("#activate-replace-box").isVisible()).toBe(true);
    expect(await sameBrowser.locator("#activate-stored").textContent()).toBe(msisdn);
    expect(await sameBrowser.locator("#activate-has-device").isVisible()).toBe(true);
    expect(await sameBrowser.getByRole("button", { name: "Activate" }).isDisabled()).toBe(true);
    await sameBrowser.close();

    const sub2 = await push.subscribe("ok");
    const other = await phone(sub2);
    const otherPage = await other.newPage();
    const sentBefore = (await devOutbox(dev.url, msisdn)).length;
    await otherPage.goto(replaceLink);
    await otherPage.getByRole("button", { name: "Use the app on this phone" }).click();
    await expect.poll(() => otherPage.locator("#activate-msisdn").textContent()).toBe(msisdn);
    expect(await otherPage.locator("#activate-has-device").isVisible()).toBe(true);
    await otherPage.locator("#activate-code").fill(await codeFromOutbox(msisdn, sentBefore));
    await otherPage.getByRole("button", { name: "Activate" }).click();
    await expect.poll(() => otherPage.locator("#view-waiting").isVisible(), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => push.received.some((r) => r.subscription === sub.id && r.payload === '{"r":"replacement"}')).toBe(true);

    // The first phone still answers the pending sign-in, then sees the request and refuses it.
    await page.locator("#ch-accept").click();
    await expect.poll(() => page.locator("#result-title").textContent()).toBe("Approved");
    expect(await fourth).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });
    await page.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.locator("#replacement-box").isVisible(), { timeout: 15_000 }).toBe(true);
    await page.getByRole("button", { name: "Refuse: not my device" }).click();
    await expect.poll(() => page.locator("#replacement-box").isVisible()).toBe(false);
    // The waiting phone learns it was refused when it next asks.
    await otherPage.reload();
    await expect.poll(() => otherPage.locator("#result-title").textContent()).toBe("Not activated");
    await other.close();

    expect(cspErrors).toEqual([]);
    await context.close();
  });
});
