import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "../support/browser.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ADMIN_TOKEN } from "../../scripts/demo-key.mjs";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { FAKE_PUSH_CERT_PATH, startFakePushService, type FakePushService } from "../../harness/fake-push-service.ts";
import { devAdminCall, phoneContext } from "../support/app-browser.ts";
import { devOutbox, fromDevOutbox } from "../support/magic-link-user.ts";

/**
 * Two devices for one number (phone and tablet) in Chromium against `npm run dev`: the tablet
 * joins (the phone is told and lets it in at once), both get the push, the first answer wins
 * and the other device hears it was already answered; the phone removes itself and the tablet
 * keeps working. Two browser profiles, each with its own push subscription at the local fake
 * push service (as in authenticator-app.test.ts).
 */
let dev: DevServer;
let browser: Browser;
let push: FakePushService;

beforeAll(async () => {
  push = await startFakePushService();
  process.env.NODE_EXTRA_CA_CERTS = FAKE_PUSH_CERT_PATH;
  [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  await push?.close();
});

const challengePushes = (subId: string) => push.received.filter((r) => r.subscription === subId && r.payload?.startsWith('{"c"')).length;

async function pushedChallenge(subId: string, count: number): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const got = push.received.filter((r) => r.subscription === subId && r.payload?.startsWith('{"c"'));
    if (got.length >= count) return (JSON.parse(got[count - 1]?.payload ?? "{}") as { c: string }).c;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no push arrived at the fake push service");
}

async function device(sub: { endpoint: string; keys: unknown }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await phoneContext(browser, dev.url, sub);
  return { context, page: await context.newPage() };
}

/** Activates the app in `page` from the newest link SMS of a pending sign-in, under `name`. */
async function activate(page: Page, msisdn: string, name: string, sentBefore: number): Promise<void> {
  await page.goto(await fromDevOutbox(dev.url, msisdn, (m) => m.link || undefined, sentBefore));
  await page.getByRole("button", { name: "Use the app on this phone" }).click();
  await expect.poll(() => page.locator("#activate-msisdn").textContent()).toBe(msisdn);
  await page.locator("#activate-name").fill(name);
  await page
    .locator("#activate-code")
    .fill(await fromDevOutbox(dev.url, msisdn, (m) => m.text.match(/activation code is (\d{6})/)?.[1], sentBefore));
  await page.getByRole("button", { name: "Activate" }).click();
}

describe("several devices per number in Chromium", () => {
  it("a tablet joins the phone; both get the push; the first answer wins; the phone removes itself, the tablet keeps working", async () => {
    const endpoint = `devices-${Date.now()}`;
    expect(
      (
        await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "POST", "endpoints", {
          name: endpoint,
          texts: { title: "Intranet" },
          enableActivation: true,
          pushGraceSeconds: 1,
        })
      ).status,
    ).toBe(201);
    const key = (await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "POST", `endpoints/${endpoint}/tokens`, { name: "e2e" })).body
      ?.secret as string;
    const signIn = (msisdn: string) =>
      fetch(`${dev.url}/api/sfwa/auth/${endpoint}?msisdn=${encodeURIComponent(msisdn)}`, { headers: { "api-key": key } }).then(
        async (r) => ({ status: r.status, body: await r.json() }),
      );
    const msisdn = `+4670${Math.floor(1e6 + Math.random() * 8e6)}`;
    const phoneSub = await push.subscribe("ok");
    const tabletSub = await push.subscribe("ok");
    const phone = await device(phoneSub);
    const tablet = await device(tabletSub);

    // 1. The phone activates from a sign-in's SMS link, then rejects that sign-in there.
    const first = signIn(msisdn);
    await activate(phone.page, msisdn, "Phone", 0);
    await expect.poll(() => phone.page.locator("#result-title").textContent(), { timeout: 15_000 }).toBe("Activated");
    await phone.page.goto(await fromDevOutbox(dev.url, msisdn, (m) => m.link || undefined));
    await phone.page.getByRole("button", { name: "Reject" }).click();
    expect(await first).toEqual({ status: 200, body: { code: "TOUCH_REJECTED" } });

    // 2. The tablet activates from the next sign-in's link (after the phone's push grace): it waits to join.
    const sent = (await devOutbox(dev.url, msisdn)).length;
    const second = signIn(msisdn);
    await activate(tablet.page, msisdn, "Tablet", sent);
    await expect.poll(() => tablet.page.locator("#view-waiting").isVisible(), { timeout: 15_000 }).toBe(true);
    // The phone opens the app: the sign-in is waiting there (it rejects it), then the join with its name.
    await phone.page.goto("/app/");
    await expect.poll(() => phone.page.locator("#ch-title").textContent(), { timeout: 15_000 }).toBe("Intranet");
    await phone.page.locator("#ch-reject").click();
    expect(await second).toEqual({ status: 200, body: { code: "TOUCH_REJECTED" } });
    await phone.page.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => phone.page.locator("#replacement-text").textContent(), { timeout: 15_000 }).toContain("“Tablet”");
    await phone.page.getByRole("button", { name: "Allow now: I added it" }).click();
    await expect.poll(() => phone.page.locator("#replacement-text").textContent()).toContain("Allowed");
    // The tablet claims at its next check (a reload here) and shows its home screen.
    await tablet.page.reload();
    await expect.poll(() => tablet.page.locator("#home-msisdn").textContent(), { timeout: 15_000 }).toBe(msisdn);
    await tablet.page.locator("#devices-box summary").click();
    await expect.poll(() => tablet.page.locator("#devices-list").textContent()).toBe("PhoneTablet (this device)");
    const listed = await devAdminCall(dev.url, DEMO_ADMIN_TOKEN, "GET", `subscribers/${encodeURIComponent(msisdn)}`);
    expect(listed.body?.devices.map((d: { name: string }) => d.name)).toEqual(["Phone", "Tablet"]);

    // 3. A sign-in pushes to both. Both open it; the tablet accepts first; the phone's Accept is too late.
    const phoneBefore = challengePushes(phoneSub.id); // the phone got the second sign-in too
    const third = signIn(msisdn);
    const challengeId = await pushedChallenge(phoneSub.id, phoneBefore + 1);
    expect(await pushedChallenge(tabletSub.id, 1)).toBe(challengeId);
    await phone.page.goto(`/app/#c=${challengeId}`);
    await tablet.page.goto(`/app/#c=${challengeId}`);
    await expect.poll(() => phone.page.locator("#ch-title").textContent()).toBe("Intranet");
    await expect.poll(() => tablet.page.locator("#ch-title").textContent()).toBe("Intranet");
    await tablet.page.locator("#ch-accept").click();
    await expect.poll(() => tablet.page.locator("#result-title").textContent()).toBe("Approved");
    expect(await third).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });
    await phone.page.locator("#ch-accept").click();
    await expect.poll(() => phone.page.locator("#result-text").textContent()).toContain("already answered");

    // 4. The phone removes itself; the tablet alone gets the next push and its answer counts.
    phone.page.on("dialog", (dialog) => void dialog.accept());
    await phone.page.getByRole("button", { name: "Done" }).click();
    await phone.page.getByRole("button", { name: "Remove this device" }).click();
    await expect.poll(() => phone.page.locator("#view-none").isVisible()).toBe(true);
    const fourth = signIn(msisdn);
    const next = await pushedChallenge(tabletSub.id, 2);
    await tablet.page.goto(`/app/#c=${next}`);
    await expect.poll(() => tablet.page.locator("#ch-title").textContent()).toBe("Intranet");
    await tablet.page.locator("#ch-accept").click();
    expect(await fourth).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });
    expect(challengePushes(phoneSub.id)).toBe(phoneBefore + 1); // none to the removed phone
    await phone.context.close();
    await tablet.context.close();
  });
});
