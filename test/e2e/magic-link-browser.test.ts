import type { Browser } from "playwright-core";
import { launchChromium } from "../support/browser.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_API_KEY } from "../../scripts/demo-key.mjs";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";

/**
 * The README's promise, as a person would do it: start `npm run dev`, call the API, open the
 * SMS link from the dev outbox in a real browser, tap Accept, and see the call return.
 */
let dev: DevServer;
let browser: Browser;

beforeAll(async () => {
  [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

describe("magic link in a browser against wrangler dev", () => {
  it("prints the demo key and outbox at start", () => {
    expect(dev.output()).toContain(DEMO_API_KEY);
    expect(dev.output()).toContain("/dev/outbox");
  });

  it("tapping Accept on the SMS link makes the blocked API call return TOUCH_ACCEPTED", async () => {
    const msisdn = `+4670${Math.floor(1e6 + Math.random() * 8e6)}`;
    const api = fetch(
      `${dev.url}/api/sfwa/auth?msisdn=${encodeURIComponent(msisdn)}&title-text=${encodeURIComponent("MyApp Login")}&button-accept-text=Approve`,
      { headers: { "api-key": DEMO_API_KEY } },
    ).then(async (r) => ({ status: r.status, body: await r.json() }));

    const page = await browser.newPage();
    // Wait for the SMS to show up in the outbox, then follow its link like a user would.
    let link: string | null = null;
    for (let i = 0; i < 100 && !link; i++) {
      await page.goto(`${dev.url}/dev/outbox`);
      const row = page.locator("tr", { hasText: msisdn }).locator("a");
      if ((await row.count()) > 0) link = await row.first().getAttribute("href");
      else await page.waitForTimeout(200);
    }
    expect(link).toMatch(/\/m\/[A-Za-z0-9_-]{43}$/);

    await page.locator("tr", { hasText: msisdn }).locator("a").first().click();
    await expect.poll(() => page.locator("h1").textContent()).toBe("MyApp Login");
    let settled = false;
    void api.then(() => (settled = true));
    expect(settled).toBe(false); // still blocked while the user reads the page

    await page.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toBe("Approved");

    expect(await api).toEqual({ status: 200, body: { code: "TOUCH_ACCEPTED" } });

    // The link is single-use: opening it again says so.
    await page.goto(link!.startsWith("http") ? link! : `${dev.url}${link}`);
    expect(await page.locator("h1").textContent()).toBe("Link already used");
    await page.close();
  });
});
